# Multipart uploads through the gateway, request by request: the upload's
# data key and state, each part its own segment (p = partNumber, a fresh
# salt per upload of a part), the part records, Complete with S3's checks
# on plaintext sizes, the manifest and part table in the index, ListParts
# with plaintext sizes, Abort; GET and HEAD across parts, ranges,
# ?partNumber; S3's errors for each way it can go wrong.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-mpu');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $B = 'mpubkt';
my $M = 1024 * 1024;
my $F = 65536;
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

my $key = $t->aws(qw(kms create-key --description gw-mpu))->{json}{KeyMetadata};
ok($key && $key->{Arn}, 'a KMS key');

sub req { $t->s3_request(bucket => $B, @_) }

sub create {
    my ($k, %h) = @_;
    my $r = req(method => 'POST', key => $k, query => { uploads => '' },
                headers => \%h);
    my ($id) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
    return ($id, $r);
}

sub part {
    my ($k, $id, $n, $data, %o) = @_;
    return req(method => 'PUT', key => $k,
               query => { partNumber => $n, uploadId => $id },
               body => $data, %o);
}

sub complete_xml {
    return '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         . join('', map { "<Part><PartNumber>$_->[0]</PartNumber>"
                          . "<ETag>$_->[1]</ETag></Part>" } @_)
         . '</CompleteMultipartUpload>';
}

sub complete {
    my ($k, $id, $body, %o) = @_;
    return req(method => 'POST', key => $k, query => { uploadId => $id },
               body => $body, %o);
}

sub get { req(method => 'GET', key => $_[0], @_[1 .. $#_]) }

# the segments of a stored multipart object: [p, L, salt, offset, bytes]
sub segments {
    my ($stored) = @_;
    my @s;
    my $off = 0;
    while ($off + 72 <= length $stored) {
        my ($magic, $v, $a, $k, $r1, $len, $p, $r2, $salt)
            = unpack 'a4 C C C C Q> N N a16', substr($stored, $off, 72);
        last unless $magic eq 'SSEK';
        my $f = 1 << $k;
        my $n = $len == 0 ? 1 : int(($len + $f - 1) / $f);
        my $sl = 72 + $len + 16 * $n;
        push @s, [$p, $len, $salt, $off, substr($stored, $off, $sl)];
        $off += $sl;
    }
    return ($off == length $stored) ? @s : ();
}

# Redis, binary-safe
sub redis { $t->redis_cmd(@_) }
sub hash_of { my %h = @{ redis('HGETALL', $_[0]) || [] }; \%h }

my $p1 = $t->bytes(5 * $M, 'p1');
my $p2a = $t->bytes(5 * $M + 3, 'p2a');
my $p2b = $t->bytes(5 * $M + 11, 'p2b');
my $p3 = $t->bytes($M + 7, 'p3');
my $whole = $p1 . $p2b . $p3;

# ---- CreateMultipartUpload ---------------------------------------------------------------

my $ctx_json = '{"team":"storage","app":"mpu"}';
my $ctx = encode_base64($ctx_json, '');
my ($id, $cr) = create('obj',
    'x-amz-server-side-encryption' => 'aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id' => $key->{KeyId},
    'x-amz-server-side-encryption-context' => $ctx,
    'x-amz-meta-color' => 'blue', 'content-type' => 'text/x-mpu');
is($cr->{status}, 200, 'CreateMultipartUpload: 200');
ok(defined $id, '... an UploadId') or diag $cr->{body};
like($cr->{body}, qr{^<\?xml.*<InitiateMultipartUploadResult.*<Bucket>$B</Bucket>.*<Key>obj</Key>}s,
     '... the backend\'s InitiateMultipartUploadResult');
is($cr->{headers}{'x-amz-server-side-encryption'}, 'aws:kms',
   '... x-amz-server-side-encryption: aws:kms');
is($cr->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $key->{Arn},
   '... the key ARN');
is($cr->{headers}{'x-amz-server-side-encryption-context'}, $ctx,
   '... the context echoed');
like($cr->{headers}{'x-amz-request-id'} // '', qr/^[0-9A-F]{16}$/,
     '... the gateway\'s request id');

my $st = hash_of("ssek:mpu:{$id}");
is_deeply([@$st{qw(bucket key alg arn f)}],
          [$B, 'obj', 'aws:kms', $key->{Arn}, 16],
          'the upload\'s state in Redis: bucket, key, alg, key ARN, frame size');
is(decode_base64($st->{ctx} // ''), '{"app":"mpu","team":"storage"}',
   '... the context, canonical');
like($st->{dek} // '', qr{^[A-Za-z0-9+/]{40,}={0,2}$}, '... the wrapped data key');
my $ttl = redis('TTL', "ssek:mpu:{$id}");
ok($ttl > 6 * 86400 && $ttl <= 7 * 86400, "... expiring in 7 days ($ttl s)");

# ---- UploadPart ----------------------------------------------------------------------------

$r = part('obj', $id, 1, $p1);
is($r->{status}, 200, 'UploadPart 1: 200');
my $e1 = $r->{headers}{etag};
like($e1 // '', qr/^"[0-9a-f]{32}"$/, '... an ETag');
is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms', '... aws:kms');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $key->{Arn},
   '... the upload\'s key ARN');
is($r->{headers}{'content-length'} // 0, 0, '... no body');

$r = part('obj', $id, 2, $p2a);
is($r->{status}, 200, 'UploadPart 2, a first time');
my $e2a = $r->{headers}{etag};
$r = part('obj', $id, 2, $p2b, payload => 'streaming');
is($r->{status}, 200, 'UploadPart 2 again (aws-chunked)');
my $e2b = $r->{headers}{etag};
isnt($e2a, $e2b, '... another ETag');
$r = part('obj', $id, 3, $p3, payload => 'unsigned-trailer', trailer => 'crc32');
is($r->{status}, 200, 'UploadPart 3 (a trailing CRC32)');
my $e3 = $r->{headers}{etag};
is($r->{headers}{'x-amz-checksum-crc32'}, $t->checksum_b64('crc32', $p3),
   '... the client\'s checksum of plaintext echoed');

sleep 0.2;
my @fields = sort grep { /^p:/ } keys %{hash_of("ssek:mpu:{$id}")};
my $c = sub { $_[0] =~ s/"//gr };
is_deeply(\@fields, [sort map { "p:$_->[0]:" . $c->($_->[1]) }
                     [1, $e1], [2, $e2a], [2, $e2b], [3, $e3]],
          'a record per part upload, two for part 2');
my %hdr;
for my $f (@fields) {
    my $v = redis('HGET', "ssek:mpu:{$id}", $f);
    my (undef, undef, undef, undef, undef, $len, $p, undef, $salt)
        = unpack 'a4 C C C C Q> N N a16', $v;
    $hdr{$f} = [$p, $len, $salt, substr($v, 0, 72)];
}
my $f2a = "p:2:" . $c->($e2a);
my $f2b = "p:2:" . $c->($e2b);
is_deeply([map { [$hdr{$_}[0], $hdr{$_}[1]] } "p:1:" . $c->($e1), $f2a, $f2b,
           "p:3:" . $c->($e3)],
          [[1, 5 * $M], [2, 5 * $M + 3], [2, 5 * $M + 11], [3, $M + 7]],
          '... each record holds its segment header: p and plaintext L');
isnt($hdr{$f2a}[2], $hdr{$f2b}[2], '... the two uploads of part 2 have different salts');

# ---- ListParts ------------------------------------------------------------------------------

$r = req(method => 'GET', key => 'obj', query => { uploadId => $id });
is($r->{status}, 200, 'ListParts: 200');
my @sizes = $r->{body} =~ m{<Size>(\d+)</Size>}g;
is_deeply(\@sizes, [5 * $M, 5 * $M + 11, $M + 7],
          '... the plaintext size of each part (the latest upload of part 2)');
unlike($r->{body}, qr/<Checksum/, '... no checksum of ciphertext');

$r = req(method => 'GET', query => { uploads => '' });
is($r->{status}, 200, 'ListMultipartUploads: 200');
like($r->{body}, qr{<UploadId>\Q$id\E</UploadId>}, '... lists the upload');

# ---- CompleteMultipartUpload -------------------------------------------------------------------

$r = complete('obj', $id, complete_xml([1, $e1], [2, $e2b], [3, $e3]));
is($r->{status}, 200, 'CompleteMultipartUpload: 200') or diag $r->{body};
like($r->{body}, qr{<CompleteMultipartUpload(Result|Response).*<ETag>}s,
     '... the backend\'s CompleteMultipartUploadResult');
is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms', '... aws:kms');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $key->{Arn},
   '... the key ARN');
ok(!exists $r->{headers}{'x-amz-version-id'},
   '... no x-amz-version-id in an unversioned bucket (moto says "null")');
is(redis('EXISTS', "ssek:mpu:{$id}"), 0, '... the upload\'s state is gone');

my $ix = hash_of("ssek:obj:{$B}:obj");
is($ix->{len}, length $whole, 'the index entry: the plaintext length');
is($ix->{nparts}, 3, '... 3 parts');
is($ix->{upload}, $id, '... the upload id');
is(length(hash_of("ssek:obj:{$B}:obj")->{mac}), 32, '... a 32-byte manifest MAC');
is(length(hash_of("ssek:obj:{$B}:obj")->{parts}), 3 * 80,
   '... a part table of 3 entries');

my $b = $t->backend_get($B, 'obj');
is($b->{status}, 200, 'the backend holds the object');
my $h = $b->{headers};
ok($h->{'x-amz-meta-ssek-v'} eq '1' && $h->{'x-amz-meta-ssek-alg'} eq 'aws:kms'
   && $h->{'x-amz-meta-ssek-key'} eq $key->{Arn}
   && decode_base64($h->{'x-amz-meta-ssek-ctx'}) eq '{"app":"mpu","team":"storage"}'
   && $h->{'x-amz-meta-ssek-dek'} eq $st->{dek}
   && !exists $h->{'x-amz-meta-ssek-len'},
   '... with the metadata of DESIGN.md 3 (no ssek-len)');
is($h->{'x-amz-meta-color'}, 'blue', '... and the client\'s');
is($ix->{etag}, $h->{etag}, 'the index keeps the backend\'s ETag');
my @seg = segments($b->{body});
is_deeply([map { [$_->[0], $_->[1]] } @seg],
          [[1, 5 * $M], [2, 5 * $M + 11], [3, $M + 7]],
          'stored: one segment per part, p and L of each');
is($seg[1][2], $hdr{$f2b}[2], '... part 2 is the second upload (its salt)');
ok(!$t->plaintext_run(substr($whole, 0, $M), substr($b->{body}, 0, $M + 4096))
   && !$t->plaintext_run(substr($p3, 0, 65536), $seg[2][4]),
   '... no plaintext run stored');

# ---- GET and HEAD ---------------------------------------------------------------------------------

$r = get('obj');
ok($r->{status} == 200 && $r->{body} eq $whole, 'GET: the whole object, byte-identical')
    or diag "status $r->{status}, " . length($r->{body});
is($r->{headers}{'content-length'}, length $whole, '... plaintext Content-Length');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $key->{Arn},
   '... SSE headers');
ok(!grep({ /ssek|checksum/ } keys %{$r->{headers}}), '... no internal or ciphertext header');

$r = req(method => 'HEAD', key => 'obj');
is($r->{status}, 200, 'HEAD: 200');
is($r->{headers}{'content-length'}, length $whole, '... the plaintext length');
is($r->{headers}{'x-amz-meta-color'}, 'blue', '... user metadata');
is($r->{headers}{'content-type'}, 'text/x-mpu', '... Content-Type');
ok(!exists $r->{headers}{'x-amz-mp-parts-count'}, '... no parts count without partNumber');

my $L = length $whole;
my $b12 = 5 * $M;
my $b23 = 10 * $M + 11;
for my $rg ([$b12 - 10, $b12 + 9, 'across parts 1 and 2'],
            [$b23 - 1, $b23, 'the last byte of part 2 and the first of 3'],
            [$b12 - 100000, $b23 + 70000, 'across all three parts'],
            [$b12, $b12 + $F, 'from the first byte of part 2'],
            [$b23 + 5, $L - 1, 'inside part 3 to the end'],
            [0, 0, 'the first byte'],
            [$L - 1, $L - 1, 'the last byte'],
            [$F - 1, 3 * $F, 'frames of part 1']) {
    my ($a, $z, $what) = @$rg;
    $r = get('obj', headers => { range => "bytes=$a-$z" });
    ok($r->{status} == 206 && $r->{body} eq substr($whole, $a, $z - $a + 1),
       "Range $what") or diag "status $r->{status} len " . length($r->{body});
    is($r->{headers}{'content-range'}, "bytes $a-$z/$L", '... Content-Range');
}
$r = get('obj', headers => { range => 'bytes=-70000' });
ok($r->{status} == 206 && $r->{body} eq substr($whole, -70000), 'Range bytes=-70000');
$r = get('obj', headers => { range => "bytes=$L-" });
$t->is_s3_error($r, 416, 'InvalidRange', 'a Range past the end: InvalidRange');
is($r->{headers}{'content-range'}, "bytes */$L", '... Content-Range: bytes */total');

# ?partNumber
for my $n (1 .. 3) {
    my @off = (0, $b12, $b23, $L);
    $r = get('obj', query => { partNumber => $n });
    ok($r->{status} == 206
       && $r->{body} eq substr($whole, $off[$n - 1], $off[$n] - $off[$n - 1]),
       "GET ?partNumber=$n: 206, that part");
    is($r->{headers}{'content-range'},
       "bytes $off[$n - 1]-" . ($off[$n] - 1) . "/$L", '... Content-Range');
    is($r->{headers}{'x-amz-mp-parts-count'}, 3, '... x-amz-mp-parts-count');
}
$r = req(method => 'HEAD', key => 'obj', query => { partNumber => 2 });
ok($r->{status} == 206 && $r->{headers}{'content-length'} == 5 * $M + 11
   && $r->{headers}{'content-range'} eq "bytes $b12-" . ($b23 - 1) . "/$L"
   && $r->{headers}{'x-amz-mp-parts-count'} == 3,
   'HEAD ?partNumber=2: 206, the part\'s length and range, the parts count');
$r = get('obj', query => { partNumber => 4 });
$t->is_s3_error($r, 416, 'InvalidPartNumber', 'GET ?partNumber=4 of 3 parts: InvalidPartNumber');
like($r->{body}, qr{<PartNumberRequested>4</PartNumberRequested><ActualPartCount>3</ActualPartCount>},
     '... with S3\'s elements');

$r = req(method => 'PUT', key => 'single', body => $p3);
is($r->{status}, 200, 'a single PUT');
$r = get('single', query => { partNumber => 1 });
ok($r->{status} == 206 && $r->{body} eq $p3
   && $r->{headers}{'content-range'} eq "bytes 0-" . (length($p3) - 1) . '/' . length($p3)
   && !exists $r->{headers}{'x-amz-mp-parts-count'},
   'GET ?partNumber=1 of a single PUT: 206, all of it, no parts count');
$r = req(method => 'HEAD', key => 'single', query => { partNumber => 1 });
ok($r->{status} == 206 && $r->{headers}{'content-length'} == length $p3,
   'HEAD ?partNumber=1 of a single PUT: 206');
$r = get('single', query => { partNumber => 2 });
$t->is_s3_error($r, 416, 'InvalidPartNumber', 'GET ?partNumber=2 of a single PUT: InvalidPartNumber');

# listings show the plaintext size
$r = req(method => 'GET', query => { 'list-type' => 2, prefix => 'obj' });
like($r->{body}, qr{<Key>obj</Key>.*<Size>$L</Size>}s, 'ListObjectsV2: the plaintext size');

# ---- SSE-S3: S3's MD5 ETags per part -------------------------------------------------------------

my ($sid, $scr) = create('s3obj');
is($scr->{headers}{'x-amz-server-side-encryption'}, 'AES256',
   'Create without SSE headers: AES256');
ok(!exists $scr->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
   '... no key id');
is(hash_of("ssek:mpu:{$sid}")->{alg}, 'AES256', '... the state says AES256');
require Digest::MD5;
$r = part('s3obj', $sid, 1, $p1);
is($r->{headers}{etag}, '"' . Digest::MD5::md5_hex($p1) . '"',
   'an SSE-S3 part\'s ETag is its plaintext\'s MD5, as on S3');
my $se1 = $r->{headers}{etag};
$r = part('s3obj', $sid, 2, $p3, headers => { 'content-md5' => $t->checksum_b64('md5', $p3) });
is($r->{headers}{etag}, '"' . Digest::MD5::md5_hex($p3) . '"', '... with a Content-MD5 too');
my $se2 = $r->{headers}{etag};
$r = req(method => 'GET', key => 's3obj', query => { uploadId => $sid });
like($r->{body}, qr{<ETag>(&quot;|")\Q@{[$se1 =~ s/"//gr]}\E(&quot;|")</ETag>.*<Size>5242880</Size>}s,
     'ListParts: the MD5 ETag and the plaintext size');
$r = complete('s3obj', $sid, complete_xml([1, $se1], [2, $se2]));
is($r->{status}, 200, 'Complete names the parts by their MD5 ETags') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256', '... AES256');
$r = get('s3obj');
ok($r->{status} == 200 && $r->{body} eq $p1 . $p3, '... and the object reads back');

# ---- errors ---------------------------------------------------------------------------------------------

$r = part('obj', 'no-such-upload', 1, 'x');
$t->is_s3_error($r, 404, 'NoSuchUpload', 'UploadPart to an unknown upload: NoSuchUpload');
like($r->{body}, qr{<UploadId>no-such-upload</UploadId>}, '... naming the upload');
$r = complete('obj', 'no-such-upload', complete_xml([1, $e1]));
$t->is_s3_error($r, 404, 'NoSuchUpload', 'Complete of an unknown upload: NoSuchUpload');

my ($id2) = create('obj2', 'x-amz-server-side-encryption' => 'aws:kms',
                   'x-amz-server-side-encryption-aws-kms-key-id' => $key->{KeyId});
ok($id2, 'another upload');
$r = part('other-key', $id2, 1, 'x');
$t->is_s3_error($r, 404, 'NoSuchUpload', 'UploadPart naming another key\'s upload: NoSuchUpload');
$r = part('obj2', $id2, 1, 'x', headers => { 'x-amz-server-side-encryption' => 'aws:kms' });
$t->is_s3_error($r, 400, 'InvalidArgument', 'UploadPart with SSE headers: InvalidArgument');

$r = part('obj2', $id2, 1, $p1);
my $o1 = $r->{headers}{etag};
$r = part('obj2', $id2, 2, $p3);
my $o2 = $r->{headers}{etag};

$r = complete('obj2', $id2, '<CompleteMultipartUpload><Part>');
$t->is_s3_error($r, 400, 'MalformedXML', 'Complete with broken XML: MalformedXML');
$r = complete('obj2', $id2, complete_xml([2, $o2], [1, $o1]));
$t->is_s3_error($r, 400, 'InvalidPartOrder', 'parts out of order: InvalidPartOrder');
my $t0 = time;
$r = complete('obj2', $id2, complete_xml([1, $o1], [2, '"0123456789abcdef0123456789abcdef"']));
my $waited = time - $t0;
$t->is_s3_error($r, 400, 'InvalidPart', 'a part never uploaded: InvalidPart');
like($r->{body}, qr{<UploadId>\Q$id2\E</UploadId><PartNumber>2</PartNumber><ETag>(&quot;|")0123456789abcdef0123456789abcdef(&quot;|")</ETag>},
     '... naming the upload, the part and its ETag');
ok($waited >= 1 && $waited < 5, sprintf('... after looking again for %.1f s', $waited));
$r = complete('obj2', $id2, complete_xml([1, $o2 =~ s/^"|"$//gr], [2, $o2]));
$t->is_s3_error($r, 400, 'InvalidPart', 'a part named with another part\'s ETag: InvalidPart');
$r = complete('obj2', $id2, complete_xml([1, $o2], [2, $o1]));
$t->is_s3_error($r, 400, 'InvalidPart', 'parts swapped: InvalidPart');

$r = part('obj2', $id2, 1, substr($p1, 0, 5 * $M - 1));
my $small = $r->{headers}{etag};
$r = complete('obj2', $id2, complete_xml([1, $small], [2, $o2]));
$t->is_s3_error($r, 400, 'EntityTooSmall',
                'a part under 5 MiB of plaintext but the last: EntityTooSmall');
like($r->{body}, qr{<ProposedSize>5242879</ProposedSize><MinSizeAllowed>5242880</MinSizeAllowed><PartNumber>1</PartNumber>},
     '... with the plaintext size S3 would give');
$r = complete('obj2', $id2, complete_xml([1, $small]));
is($r->{status}, 200, 'a single part under 5 MiB (the last): fine') or diag $r->{body};
$r = get('obj2');
ok($r->{body} eq substr($p1, 0, 5 * $M - 1), '... and reads back');

# a record on its way: Complete looks again
my ($id3) = create('late', 'x-amz-server-side-encryption' => 'aws:kms');
$r = part('late', $id3, 1, $p3);
my $le = $r->{headers}{etag};
my $lf = "p:1:" . $c->($le);
sleep 0.2;
my $rec = redis('HGET', "ssek:mpu:{$id3}", $lf);
is(length $rec, 72 + 1 + length($le), 'the part\'s record');
redis('HDEL', "ssek:mpu:{$id3}", $lf);
my $pid = fork // die;
if ($pid == 0) {
    sleep 0.6;
    redis('HSET', "ssek:mpu:{$id3}", $lf, $rec);
    POSIX::_exit(0);
}
$t0 = time;
$r = complete('late', $id3, complete_xml([1, $le]));
waitpid $pid, 0;
ok($r->{status} == 200 && time - $t0 >= 0.5,
   sprintf('Complete waits for a record written %.1f s late', time - $t0))
    or diag $r->{body};

# Abort
my ($id4) = create('gone', 'x-amz-server-side-encryption' => 'aws:kms');
part('gone', $id4, 1, $p3);
$r = req(method => 'DELETE', key => 'gone', query => { uploadId => $id4 });
is($r->{status}, 204, 'AbortMultipartUpload: 204');
sleep 0.1;
is(redis('EXISTS', "ssek:mpu:{$id4}"), 0, '... the state is gone');
$r = part('gone', $id4, 2, $p3);
$t->is_s3_error($r, 404, 'NoSuchUpload', '... an UploadPart after it: NoSuchUpload');

# KMS errors
(undef, $r) = create('nokey', 'x-amz-server-side-encryption' => 'aws:kms',
                     'x-amz-server-side-encryption-aws-kms-key-id' => 'alias/none');
$t->is_s3_error($r, 400, 'KMS.NotFoundException', 'Create under an unknown key: KMS.NotFoundException');
my $k2 = $t->aws(qw(kms create-key --description gw-mpu-2))->{json}{KeyMetadata};
my ($id5) = create('dis', 'x-amz-server-side-encryption' => 'aws:kms',
                   'x-amz-server-side-encryption-aws-kms-key-id' => $k2->{KeyId});
$t->aws(qw(kms disable-key --key-id), $k2->{KeyId});
my $end = time + 5;
do { sleep 0.1; $r = part('dis', $id5, 1, $p3) }
    while ($r->{status} == 200 && time < $end);
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                'UploadPart under a key disabled since Create: KMS.DisabledException');
(undef, $r) = create('dis2', 'x-amz-server-side-encryption' => 'aws:kms',
                     'x-amz-server-side-encryption-aws-kms-key-id' => $k2->{KeyId});
$t->is_s3_error($r, 400, 'KMS.DisabledException', 'Create under a disabled key: KMS.DisabledException');

(undef, $r) = create('meta', 'x-amz-meta-ssek-v' => '1');
$t->is_s3_error($r, 400, 'InvalidArgument', 'Create with x-amz-meta-ssek-*: InvalidArgument');
(undef, $r) = create('meta', 'x-amz-meta-big' => 'x' x 2000);
$t->is_s3_error($r, 400, 'MetadataTooLarge', 'Create with metadata over 2 KB with ours: MetadataTooLarge');

# a part over S3's limit: refused before its body
my ($id6) = create('huge');
$r = part('huge', $id6, 1, 'x', payload => 'unsigned',
         content_length => 5 * 1024 * $M,
         unsigned_headers => [['Expect', '100-continue']], expect => 1);
$t->is_s3_error($r, 400, 'EntityTooLarge', 'a 5 GiB part: EntityTooLarge');
ok($r->{early} && !$r->{continue}, '... before 100 Continue');

$t->done;
