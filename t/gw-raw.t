# The gateway with raw requests signed here: every payload mode S3 knows
# (hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD with
# and without a signed trailer, STREAMING-UNSIGNED-PAYLOAD-TRAILER), object
# sizes around the frame size, what the backend stores, ranges at frame
# edges, presigned URLs, virtual-hosted buckets and the operations that
# pass through.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::MD5;
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-raw');
$t->start_redis;
$t->start_moto;
$t->start_nginx(
    gateway => "            s3_kms_gateway_host s3.test;\n"
             . "            access_log %%DIR%%/upstream.log up;",
    http => "    log_format up '\$request_method \$request_uri \$status "
          . "\$upstream_bytes_received \$upstream_http_content_range';\n");

my $F = 65536;
my $B = 'rawbkt';
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket passes through');

my $key = $t->aws(qw(kms create-key --description gw-raw));
my $key_id = $key->{json}{KeyMetadata}{KeyId};
my $key_arn = $key->{json}{KeyMetadata}{Arn};
ok($key_id, 'a KMS key') or diag $key->{err};
my %kms = ('x-amz-server-side-encryption' => 'aws:kms',
           'x-amz-server-side-encryption-aws-kms-key-id' => $key_id);

# ---- every payload mode, sizes around the frame size ----------------------

sub roundtrip {
    my ($name, $data, %o) = @_;
    my $k = "obj/$name";
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $data, headers => {%kms}, %o);
    is($r->{status}, 200, "$name: PUT") or diag $r->{body};
    is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms',
       "$name: PUT answers SSE aws:kms");
    is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
       $key_arn, "$name: PUT answers the key ARN");
    like($r->{headers}{etag} // '', qr/^"[0-9a-f]{32}"$/, "$name: ETag");
    if (($o{payload} // '') =~ /trailer/) {
        my $alg = $o{trailer} // 'crc32';
        is($r->{headers}{"x-amz-checksum-$alg"},
           $t->checksum_b64($alg, $data), "$name: the checksum echoed");
    }
    $r = $t->s3_request(method => 'GET', bucket => $B, key => $k);
    ok($r->{status} == 200 && $r->{body} eq $data && !$r->{short},
       "$name: GET gives the same bytes")
        or diag "status $r->{status}, " . length($r->{body}) . " bytes";
    is($r->{headers}{'content-length'}, length $data,
       "$name: GET Content-Length is the plaintext's");
    is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms',
       "$name: GET answers SSE");
    ok(!grep(/^x-amz-meta-ssek-|^x-amz-checksum-/, keys %{$r->{headers}}),
       "$name: no internal metadata, no backend checksum");
    $r = $t->s3_request(method => 'HEAD', bucket => $B, key => $k);
    ok($r->{status} == 200
       && $r->{headers}{'content-length'} == length $data,
       "$name: HEAD Content-Length is the plaintext's");
    $t->stored_ok($B, $k, $data, "$name: stored as ciphertext, section 3",
                  key_arn => $key_arn);
}

for my $size (0, 1, $F - 1, $F, $F + 1, 3 * $F + 5) {
    my $data = $t->bytes($size, "raw$size");
    roundtrip("sha256-$size", $data);
    roundtrip("streaming-$size", $data, payload => 'streaming');
}

for my $size (1, $F - 1, $F + 1) {
    my $data = $t->bytes($size, "u$size");
    roundtrip("unsigned-$size", $data, payload => 'unsigned');
    roundtrip("unsigned-trailer-$size", $data, payload => 'unsigned-trailer');
}

# AWS's documented shape: 66560 bytes as a 64 KiB chunk, a 1 KiB chunk and
# the final empty chunk
roundtrip('streaming-66560', $t->bytes(66560, 'aws'), payload => 'streaming');
roundtrip('streaming-8k-chunks', $t->bytes(3 * $F + 5, 'c8'),
          payload => 'streaming', chunk => 8192);
# a chunk whose data fills an output buffer exactly (72 + 65464 = 64 KiB)
roundtrip('streaming-exact-fill', $t->bytes(3 * $F + 5, 'fill'),
          payload => 'streaming', chunk => 65464);
roundtrip('unsigned-trailer-odd-chunks', $t->bytes(200001, 'odd'),
          payload => 'unsigned-trailer', chunk => 10007);

# aws-chunked inside HTTP chunked transfer encoding (no Content-Length):
# the backend still gets the ciphertext's length
roundtrip('transfer-encoding-chunked', $t->bytes(2 * $F + 9, 'te'),
          payload => 'unsigned-trailer', te_chunked => 30000);
roundtrip('transfer-encoding-chunked-signed', $t->bytes($F - 3, 'te2'),
          payload => 'streaming', te_chunked => 4096);

for my $alg (qw(crc32 crc32c crc64nvme sha1 sha256)) {
    roundtrip("signed-trailer-$alg", $t->bytes($F + 7, $alg),
              payload => 'streaming-trailer', trailer => $alg);
}

# a checksum header with a signed payload (what boto3 sends over HTTP)
{
    my $data = $t->bytes(1000, 'hdr');
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => 'obj/ckhdr',
        body => $data, headers => {
            %kms, 'x-amz-checksum-crc32' => $t->checksum_b64('crc32', $data),
            'x-amz-sdk-checksum-algorithm' => 'CRC32',
            'content-md5' => $t->checksum_b64('md5', $data) });
    is($r->{status}, 200, 'PUT with Content-MD5 and x-amz-checksum-crc32')
        or diag $r->{body};
    is($r->{headers}{'x-amz-checksum-crc32'},
       $t->checksum_b64('crc32', $data), 'the checksum header echoed');
}

# ---- ranges at frame edges --------------------------------------------------------

my $L = 3 * $F + 5;
my $obj = $t->bytes($L, 'ranges');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'ranged', body => $obj,
                    headers => {%kms});
is($r->{status}, 200, 'PUT the ranged object');

sub upstream_bytes {
    # the bytes the gateway read from the backend for the last GET
    my @l = grep { /^GET / } split /\n/, $t->slurp($t->dir . '/upstream.log');
    my @f = split / /, $l[-1] // '';
    my $n = 0;
    $n += $_ for grep { /^\d+$/ } split /, /, join ' ', @f[3 .. $#f];
    return $n;
}

my @ranges = (
    ['0-0', 0, 0], ['0-65535', 0, 65535], ['65535-65536', 65535, 65536],
    ['65536-65536', 65536, 65536], ['65536-131071', 65536, 131071],
    ['131071-131072', 131071, 131072], ["@{[$L-1]}-@{[$L-1]}", $L-1, $L-1],
    ['196600-', 196600, $L-1], ['-1', $L-1, $L-1], ['-65537', $L-65537, $L-1],
    ["-$L", 0, $L-1], ['-999999', 0, $L-1], ['100000-999999', 100000, $L-1],
    ['0-', 0, $L-1], ['196608-', 196608, $L-1],
);
for my $rg (@ranges) {
    my ($spec, $a, $b) = @$rg;
    my $r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged',
                           headers => { range => "bytes=$spec" });
    my $want = substr($obj, $a, $b - $a + 1);
    ok($r->{status} == 206 && $r->{body} eq $want && !$r->{short},
       "bytes=$spec: 206 and the right bytes")
        or diag "status $r->{status}, " . length($r->{body}) . " bytes "
              . substr($r->{body}, 0, 300);
    is($r->{headers}{'content-range'}, "bytes $a-$b/$L",
       "bytes=$spec: Content-Range");
    is($r->{headers}{'content-length'}, $b - $a + 1,
       "bytes=$spec: Content-Length");
    # only the frames the range needs came from the backend
    my $frames = int($b / $F) - int($a / $F) + 1;
    my $max = $frames * ($F + 16) + 2048;
    cmp_ok(upstream_bytes(), '<=', $max,
           "bytes=$spec: read $frames frame(s) from the backend");
}

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged',
                    headers => { range => "bytes=$L-" });
$t->is_s3_error($r, 416, 'InvalidRange', 'a range past the end: 416');
is($r->{headers}{'content-range'}, "bytes */$L", '416 names the length');

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged',
                    headers => { range => "bytes=" . ($L + 10) . "-" . ($L + 20) });
$t->is_s3_error($r, 416, 'InvalidRange', 'a range wholly past the end: 416');

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'obj/sha256-0',
                    headers => { range => 'bytes=0-0' });
$t->is_s3_error($r, 416, 'InvalidRange', 'any range of an empty object: 416');

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged',
                    headers => { range => 'bytes=abc' });
ok($r->{status} == 200 && $r->{body} eq $obj,
   'a malformed Range is ignored, as S3 does');

# the index lost: the gateway reads the object's header first (the probe)
$t->redis_cli('DEL', "ssek:obj:{$B}:ranged");
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged',
                    headers => { range => 'bytes=65535-65536' });
ok($r->{status} == 206 && $r->{body} eq substr($obj, 65535, 2),
   'a range without the index entry (probe)');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ranged');
ok($r->{status} == 200 && $r->{body} eq $obj, 'GET without the index entry');

# ---- presigned URLs ---------------------------------------------------------------------

my $url = $t->presign(method => 'GET', bucket => $B, key => 'ranged',
                      expires => 60);
$r = $t->http_raw(method => 'GET', target => $url,
                  headers => [[Host => "127.0.0.1:" . $t->s3_port]]);
ok($r->{status} == 200 && $r->{body} eq $obj, 'presigned GET');

my $pdata = $t->bytes(70000, 'presigned');
$url = $t->presign(method => 'PUT', bucket => $B, key => 'presigned',
                   expires => 60);
$r = $t->http_raw(method => 'PUT', target => $url, body => $pdata,
                  headers => [[Host => "127.0.0.1:" . $t->s3_port],
                              ['Content-Length' => length $pdata]]);
is($r->{status}, 200, 'presigned PUT') or diag $r->{body};
$t->stored_ok($B, 'presigned', $pdata, 'presigned PUT stored encrypted',
              alg => 'AES256');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'presigned');
ok($r->{status} == 200 && $r->{body} eq $pdata, 'presigned PUT reads back');

$url = $t->presign(method => 'GET', bucket => $B, key => 'ranged',
                   expires => 60, time => time - 3600);
$r = $t->http_raw(method => 'GET', target => $url,
                  headers => [[Host => "127.0.0.1:" . $t->s3_port]]);
$t->is_s3_error($r, 403, 'AccessDenied', 'an expired presigned URL');
like($r->{body}, qr/Request has expired/, '... "Request has expired"');

$url = $t->presign(method => 'GET', bucket => $B, key => 'ranged',
                   expires => 60) =~ s/(X-Amz-Signature=)(.)/$1 . ($2 eq 'a' ? 'b' : 'a')/er;
$r = $t->http_raw(method => 'GET', target => $url,
                  headers => [[Host => "127.0.0.1:" . $t->s3_port]]);
$t->is_s3_error($r, 403, 'SignatureDoesNotMatch', 'a presigned URL altered');

# ---- virtual-hosted-style buckets ------------------------------------------------------

my $vh = "$B.s3.test:" . $t->s3_port;
my $vdata = $t->bytes(100000, 'vhost');
$r = $t->s3_request(method => 'PUT', host => $vh, path => '/vhost/obj',
                    body => $vdata, headers => {%kms});
is($r->{status}, 200, 'PUT virtual-hosted-style') or diag $r->{body};
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'vhost/obj');
ok($r->{status} == 200 && $r->{body} eq $vdata,
   '... reads back path-style');
$t->stored_ok($B, 'vhost/obj', $vdata, '... stored under bucket/key',
              key_arn => $key_arn);
$r = $t->s3_request(method => 'GET', host => $vh, path => '/vhost/obj',
                    headers => { range => 'bytes=65530-65545' });
ok($r->{status} == 206 && $r->{body} eq substr($vdata, 65530, 16),
   'ranged GET virtual-hosted-style');
$r = $t->s3_request(method => 'GET', host => $vh, path => '/',
                    query => { 'list-type' => 2, prefix => 'vhost/' });
ok($r->{status} == 200 && $r->{body} =~ m{<Key>vhost/obj</Key>},
   'ListObjectsV2 virtual-hosted-style');
$r = $t->s3_request(method => 'GET', host => 's3.test:' . $t->s3_port,
                    path => "/$B/vhost/obj");
ok($r->{status} == 200 && $r->{body} eq $vdata,
   'path-style under the gateway name');

# keys that need encoding
for my $k ('dir/a b+c', 'ü/é~!$&\'()*,;=:@', 'x/%2F/y') {
    my $d = $t->bytes(5000, $k);
    $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k, body => $d);
    is($r->{status}, 200, "PUT key '$k'") or diag $r->{body};
    $r = $t->s3_request(method => 'GET', bucket => $B, key => $k);
    ok($r->{status} == 200 && $r->{body} eq $d, "GET key '$k'");
    $t->stored_ok($B, $k, $d, "key '$k' stored encrypted", alg => 'AES256');
}
$r = $t->s3_request(method => 'GET', bucket => $B,
                    query => { 'list-type' => 2, prefix => 'dir/' });
my $md5 = Digest::MD5::md5_hex($t->bytes(5000, 'dir/a b+c'));
like($r->{body}, qr{<Key>dir/a b\+c</Key>.*?<ETag>(&quot;|")$md5(&quot;|")</ETag>.*?<Size>5000</Size>}s,
     'a listing gives an SSE-S3 object its MD5 ETag and plaintext size');

# ---- operations that pass through ----------------------------------------------------

$r = $t->s3_request(method => 'GET', path => '/');
ok($r->{status} == 200 && $r->{body} =~ m{<Name>$B</Name>},
   'ListBuckets passes through');
$r = $t->s3_request(method => 'PUT', bucket => 'rawbkt2');
is($r->{status}, 200, 'CreateBucket');
$r = $t->s3_request(method => 'HEAD', bucket => 'rawbkt2');
is($r->{status}, 200, 'HeadBucket');
$r = $t->s3_request(method => 'PUT', bucket => 'rawbkt2', key => 'gone',
                    body => 'bye');
is($r->{status}, 200, 'PUT an object to delete');
$r = $t->s3_request(method => 'DELETE', bucket => 'rawbkt2', key => 'gone');
is($r->{status}, 204, 'DeleteObject passes through');
like($t->redis_cli('EXISTS', 'ssek:obj:{rawbkt2}:gone'), qr/^\s*0\s*$/,
   '... and drops the index entry');
$r = $t->s3_request(method => 'GET', bucket => 'rawbkt2', key => 'gone');
$t->is_s3_error($r, 404, 'NoSuchKey', 'GET after delete: NoSuchKey',
                from_backend => 1);
$r = $t->s3_request(method => 'HEAD', bucket => 'rawbkt2', key => 'gone');
is($r->{status}, 404, 'HEAD after delete: 404');

# DeleteObjects: a body that passes through (Content-MD5 required)
for my $k (qw(d1 d2)) {
    $t->s3_request(method => 'PUT', bucket => 'rawbkt2', key => $k, body => $k);
}
my $xml = '<?xml version="1.0" encoding="UTF-8"?><Delete>'
        . '<Object><Key>d1</Key></Object><Object><Key>d2</Key></Object>'
        . '</Delete>';
$r = $t->s3_request(method => 'POST', bucket => 'rawbkt2',
                    query => { delete => '' }, body => $xml,
                    headers => { 'content-md5' => $t->checksum_b64('md5', $xml),
                                 'content-type' => 'application/xml' });
ok($r->{status} == 200 && $r->{body} =~ m{<Deleted><Key>d1</Key>},
   'DeleteObjects passes through with its body') or diag $r->{body};
$r = $t->s3_request(method => 'GET', bucket => 'rawbkt2',
                    query => { 'list-type' => 2 });
ok($r->{status} == 200 && $r->{body} !~ /<Key>/, '... the bucket is empty');
$r = $t->s3_request(method => 'DELETE', bucket => 'rawbkt2');
is($r->{status}, 204, 'DeleteBucket passes through');
$r = $t->s3_request(method => 'HEAD', bucket => 'rawbkt2');
is($r->{status}, 404, 'HeadBucket of the deleted bucket: 404');

# listings show what the client stored, not the ciphertext's size
like($t->redis_cli('HGET', "ssek:obj:{$B}:ranged", 'len'), qr/^$L$/,
     'the probe re-indexed the object');
$r = $t->s3_request(method => 'GET', bucket => $B,
                    query => { 'list-type' => 2, prefix => 'ranged' });
like($r->{body}, qr{<Key>ranged</Key>.*?<Size>$L</Size>}s,
     'ListObjectsV2 gives the plaintext size');
$r = $t->s3_request(method => 'GET', bucket => $B,
                    query => { prefix => 'obj/sha256-' });
my %want = map { ("obj/sha256-$_" => $_) } 0, 1, $F - 1, $F, $F + 1, 3 * $F + 5;
my %got = $r->{body} =~ m{<Key>([^<]+)</Key>.*?<Size>(\d+)</Size>}gs;
is_deeply(\%got, \%want, 'ListObjects (v1): every plaintext size');
# a listing larger than nginx's in-memory subrequest buffer (4-8 KiB)
for my $i (1 .. 60) {
    $t->s3_request(method => 'PUT', bucket => $B,
                   key => sprintf('many/%03d-%s', $i, 'x' x 80),
                   body => 'y' x $i);
}
$r = $t->s3_request(method => 'GET', bucket => $B,
                    query => { 'list-type' => 2, prefix => 'many/' });
my @sizes = $r->{body} =~ m{<Size>(\d+)</Size>}g;
ok($r->{status} == 200 && length($r->{body}) > 8192
   && "@sizes" eq join(' ', 1 .. 60),
   'a listing over 8 KiB: every plaintext size')
    or diag "$r->{status} " . length($r->{body});
my $legacy = $t->bytes(1000, 'legacy');
$t->backend_put($B, 'legacy', $legacy);
$r = $t->s3_request(method => 'GET', bucket => $B,
                    query => { 'list-type' => 2, prefix => 'legacy' });
like($r->{body}, qr{<Key>legacy</Key>.*?<Size>1000</Size>}s,
     'an object written before the gateway keeps its size');
$r = $t->s3_request(method => 'GET', bucket => 'nosuchbucket',
                    query => { 'list-type' => 2 });
$t->is_s3_error($r, 404, 'NoSuchBucket', "a listing's error passes",
                from_backend => 1);

$t->done;
