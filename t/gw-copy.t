# CopyObject and UploadPartCopy through the gateway: the copy is decrypted
# and encrypted again under the key the request names (or the bucket's
# default), never copied by the backend; every kind of source (single
# PUT, multipart, S3 Bucket Keys, written before the gateway); metadata
# COPY and REPLACE; the copy-source conditions; S3's errors; a damaged
# source stores nothing.

use strict; use warnings; use lib 't/lib'; use Test::More; use S3KMS::Test;
use Digest::MD5 qw(md5_hex);

my $t = S3KMS::Test->new(name => 'gw-copy');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $B = 'copybkt';
my $B2 = 'copybkt2';
my $r;

for my $b ($B, $B2) {
    $r = $t->s3_request(method => 'PUT', bucket => $b);
    is($r->{status}, 200, "CreateBucket $b");
}

sub create_key {
    my $r = $t->aws('kms', 'create-key', '--description', $_[0]);
    return $r->{json}{KeyMetadata};
}

my $ka = create_key('copy: the source key');
my $kb = create_key('copy: the target key');
ok($ka && $kb, 'two KMS keys');

sub sse { ('x-amz-server-side-encryption' => 'aws:kms',
           'x-amz-server-side-encryption-aws-kms-key-id' => $_[0]) }

sub put {
    my ($key, $body, %h) = @_;
    return $t->s3_request(method => 'PUT', bucket => $B, key => $key,
                          body => $body, headers => \%h);
}

sub get {
    my ($key, %o) = @_;
    return $t->s3_request(method => 'GET', bucket => $o{bucket} // $B,
                          key => $key, %o);
}

sub copy {
    my ($key, $src, %h) = @_;
    my %o;
    $o{bucket} = delete $h{bucket} if $h{bucket};
    $o{who} = delete $h{who} if $h{who};
    return $t->s3_request(method => 'PUT', bucket => $o{bucket} // $B,
                          key => $key, who => $o{who},
                          headers => { 'x-amz-copy-source' => $src, %h });
}

sub meta { $t->backend_get($_[1] // $B, $_[0], method => 'HEAD')->{headers} }

my $data = $t->bytes(300000, 'copy source');

# ---- CopyObject to another key, under another KMS key -------------------------------

$r = put('src', $data, sse($ka->{KeyId}));
is($r->{status}, 200, 'the source, under key A');
my $src_meta = meta('src');

$r = copy('dst', "/$B/src", sse($kb->{KeyId}));
is($r->{status}, 200, 'CopyObject under key B') or diag $r->{body};
like($r->{body}, qr{^<\?xml version="1.0" encoding="UTF-8"\?>\n<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z</LastModified><ETag>&quot;[0-9a-f-]+&quot;</ETag></CopyObjectResult>$},
     '... answered with S3\'s CopyObjectResult');
is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms',
   '... with the SSE headers');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $kb->{Arn},
   '... naming the target key');
ok(!exists $r->{headers}{etag}, '... no ETag header (S3 has it in the document)');
my ($etag) = $r->{body} =~ m{<ETag>&quot;(.+?)&quot;</ETag>};

$r = get('dst');
ok($r->{status} == 200 && $r->{body} eq $data, 'the copy decrypts to the source');
is($r->{headers}{etag}, "\"$etag\"", '... its ETag the one the copy answered');
$t->stored_ok($B, 'dst', $data, 'the copy is stored encrypted under key B',
              key_arn => $kb->{Arn});
my $dst_meta = meta('dst');
isnt($dst_meta->{'x-amz-meta-ssek-dek'}, $src_meta->{'x-amz-meta-ssek-dek'},
     '... with a data key of its own');
is($dst_meta->{'x-amz-meta-ssek-key'}, $kb->{Arn}, '... the new key\'s');
ok(scalar(grep { /"Decrypt"/ && /\Q$ka->{KeyId}\E/ && /alice/ }
          split /\n/, $t->audit_log),
   'the source\'s data key was opened by KMS Decrypt under key A, as alice');

# the path form without the leading slash, URL-encoded keys
$r = put('a key/with+odd&chars', $data, sse($ka->{KeyId}));
$r = copy('dst2', "$B/a%20key/with%2Bodd%26chars", sse($kb->{KeyId}));
is($r->{status}, 200, 'a copy source without a leading slash, URL-encoded')
    or diag $r->{body};
is(get('dst2')->{body}, $data, '... decrypts');

# to another bucket, without SSE headers: its default (SSE-S3 here)
$r = copy('in-b2', "/$B/src", bucket => $B2);
is($r->{status}, 200, 'a copy into another bucket, no SSE headers') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256',
   '... the bucket\'s default, not the source\'s key');
$t->stored_ok($B2, 'in-b2', $data, '... stored under SSE-S3', alg => 'AES256');
my ($etag2) = $r->{body} =~ m{<ETag>&quot;(.+?)&quot;</ETag>};
is($etag2, md5_hex($data), '... an SSE-S3 copy\'s ETag is its MD5, as S3\'s');
is(get('in-b2', bucket => $B2)->{body}, $data, '... decrypts');

# ---- onto itself --------------------------------------------------------------------------

$r = copy('src', "/$B/src");
$t->is_s3_error($r, 400, 'InvalidRequest', 'a copy onto itself changing nothing');
like($r->{body}, qr{without changing the object&apos;s metadata, storage class, website redirect location or encryption attributes}, '... S3\'s message');
is(meta('src')->{'x-amz-meta-ssek-dek'}, $src_meta->{'x-amz-meta-ssek-dek'},
   '... the object untouched');

$r = put('self', $data, sse($ka->{KeyId}));
my $self_before = meta('self');
$r = copy('self', "/$B/self", sse($kb->{KeyId}));
is($r->{status}, 200, 'a copy onto itself with a new key (re-encryption)')
    or diag $r->{body};
my $self_after = meta('self');
is($self_after->{'x-amz-meta-ssek-key'}, $kb->{Arn}, '... now under key B');
isnt($self_after->{'x-amz-meta-ssek-dek'}, $self_before->{'x-amz-meta-ssek-dek'},
     '... with a new data key');
is(get('self')->{body}, $data, '... and decrypts');

# ---- metadata: COPY (the default) and REPLACE ---------------------------------------------

$r = put('meta', $data, sse($ka->{KeyId}), 'content-type' => 'text/x-copy',
         'x-amz-meta-colour' => 'blue', 'cache-control' => 'max-age=5');
$r = copy('meta-copy', "/$B/meta", 'x-amz-meta-ignored' => 'yes',
          'content-type' => 'text/ignored');
is($r->{status}, 200, 'COPY (the default)') or diag $r->{body};
$r = get('meta-copy');
is($r->{headers}{'content-type'}, 'text/x-copy', '... the source\'s Content-Type');
is($r->{headers}{'x-amz-meta-colour'}, 'blue', '... its user metadata');
is($r->{headers}{'cache-control'}, 'max-age=5', '... its Cache-Control');
ok(!exists $r->{headers}{'x-amz-meta-ignored'}, '... not the request\'s');
ok(!grep(/^x-amz-meta-ssek-/, keys %{$r->{headers}}), '... no internal metadata shown');
is(meta('meta-copy')->{'x-amz-meta-colour'}, 'blue', '... stored at the backend');

$r = copy('meta-repl', "/$B/meta", 'x-amz-metadata-directive' => 'REPLACE',
          'x-amz-meta-shape' => 'round', 'content-type' => 'text/new');
is($r->{status}, 200, 'REPLACE') or diag $r->{body};
$r = get('meta-repl');
is($r->{headers}{'content-type'}, 'text/new', '... the request\'s Content-Type');
is($r->{headers}{'x-amz-meta-shape'}, 'round', '... the request\'s metadata');
ok(!exists $r->{headers}{'x-amz-meta-colour'}, '... none of the source\'s');
is($r->{body}, $data, '... the same bytes');

$r = copy('meta-bad', "/$B/meta", 'x-amz-metadata-directive' => 'MERGE');
$t->is_s3_error($r, 400, 'InvalidArgument', 'an unknown metadata directive');
like($r->{body}, qr{<Message>Unknown metadata directive\.</Message>}, '... S3\'s message');

$r = copy('self-meta', "/$B/meta", 'x-amz-metadata-directive' => 'REPLACE');
$r = copy('meta', "/$B/meta", 'x-amz-metadata-directive' => 'REPLACE',
          'x-amz-meta-colour' => 'red');
is($r->{status}, 200, 'a copy onto itself replacing metadata') or diag $r->{body};
is(get('meta')->{headers}{'x-amz-meta-colour'}, 'red', '... the new metadata');

# ---- sources of every kind ---------------------------------------------------------------

# multipart (aws s3 cp: 8 MiB parts over 8 MiB)
my $mp = $t->dir . '/mp.bin';
$t->make_file('mp.bin', 14 * 1024 * 1024 + 5);
$r = $t->s3('s3', 'cp', $mp, "s3://$B/multi", '--sse', 'aws:kms',
            '--sse-kms-key-id', $ka->{KeyId});
is($r->{rc}, 0, 'a multipart source') or diag $r->{err};
$r = copy('multi-copy', "/$B/multi", sse($kb->{KeyId}));
is($r->{status}, 200, 'CopyObject of a multipart object') or diag $r->{body};
ok(get('multi-copy')->{body} eq $t->slurp($mp), '... decrypts to its bytes');
is(meta('multi-copy')->{'x-amz-meta-ssek-len'}, -s $mp,
   '... stored as one segment');

# S3 Bucket Keys
$r = put('bk', $data, sse($ka->{KeyId}),
         'x-amz-server-side-encryption-bucket-key-enabled' => 'true');
is($r->{status}, 200, 'a Bucket Key source');
ok(meta('bk')->{'x-amz-meta-ssek-bk'}, '... stored with ssek-bk');
$r = copy('bk-copy', "/$B/bk", sse($kb->{KeyId}));
is($r->{status}, 200, 'CopyObject of a Bucket Key object') or diag $r->{body};
is(get('bk-copy')->{body}, $data, '... decrypts');
ok(!meta('bk-copy')->{'x-amz-meta-ssek-bk'}, '... the copy does not inherit Bucket Keys');

# written to the backend before the gateway: plaintext
$r = $t->backend_put($B, 'plain', $data, { 'content-type' => 'text/plain' });
is($r->{status}, 200, 'a plaintext object written straight to the backend');
$r = copy('plain-copy', "/$B/plain", sse($kb->{KeyId}));
is($r->{status}, 200, 'CopyObject of it') or diag $r->{body};
$t->stored_ok($B, 'plain-copy', $data, '... encrypted on the way',
              key_arn => $kb->{Arn});
$r = get('plain-copy');
ok($r->{body} eq $data && $r->{headers}{'content-type'} eq 'text/plain',
   '... decrypts, with its Content-Type');

# the source's index entry lost (Redis flushed of it): the backend's metadata
$t->redis_cmd('DEL', "ssek:obj:{$B}:src");
$r = copy('noindex', "/$B/src", sse($kb->{KeyId}));
is($r->{status}, 200, 'a source the index lost') or diag $r->{body};
is(get('noindex')->{body}, $data, '... decrypts');

# ---- the old key disabled: the copies do not need it -----------------------------------

$r = $t->aws(qw(kms disable-key --key-id), $ka->{KeyId});
is($r->{rc}, 0, 'key A disabled');
sleep 1;
$r = get('src');
$t->is_s3_error($r, 400, 'KMS.DisabledException', 'the source no longer decrypts');
is(get('dst')->{body}, $data, 'the copy under key B still does');
is(get('self')->{body}, $data, 'the object re-encrypted onto itself still does');
$r = copy('dst-again', "/$B/src", sse($kb->{KeyId}));
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                'copying from a source under a disabled key: KMS\'s error');
is($t->backend_get($B, 'dst-again')->{status}, 404, '... nothing stored');
$r = $t->aws(qw(kms enable-key --key-id), $ka->{KeyId});
sleep 1;

# ---- conditions -------------------------------------------------------------------------

my $src_etag = get('dst')->{headers}{etag};
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-match' => $src_etag);
is($r->{status}, 200, 'x-amz-copy-source-if-match that holds') or diag $r->{body};
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-match' => '"0123"');
$t->is_s3_error($r, 412, 'PreconditionFailed', 'x-amz-copy-source-if-match that fails');
like($r->{body}, qr{<Condition>x-amz-copy-source-If-Match</Condition>}, '... naming it');
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-none-match' => $src_etag);
$t->is_s3_error($r, 412, 'PreconditionFailed', 'x-amz-copy-source-if-none-match that fails');
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-modified-since'
                             => 'Sat, 01 Jan 2000 00:00:00 GMT');
is($r->{status}, 200, 'x-amz-copy-source-if-modified-since that holds');
my $future = 'Fri, 01 Jan 2100 00:00:00 GMT';
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-unmodified-since'
                             => 'Sat, 01 Jan 2000 00:00:00 GMT');
$t->is_s3_error($r, 412, 'PreconditionFailed', 'x-amz-copy-source-if-unmodified-since that fails');
$r = copy('cond', "/$B/dst", 'x-amz-copy-source-if-match' => $src_etag,
          'x-amz-copy-source-if-unmodified-since' => 'Sat, 01 Jan 2000 00:00:00 GMT');
is($r->{status}, 200, 'If-Match that holds overrides If-Unmodified-Since, as S3');
$r = copy('cond', "/$B2/in-b2", bucket => $B2,
          'x-amz-copy-source-if-match' => '"' . md5_hex($data) . '"');
is($r->{status}, 200, 'an SSE-S3 source matched by its MD5 ETag') or diag $r->{body};

# ---- UploadPartCopy ---------------------------------------------------------------------

# aws s3 cp between buckets above a (small) multipart threshold: the CLI
# copies with CreateMultipartUpload and UploadPartCopy of ranges
my $cfg = $t->dir . '/aws-small.cfg';
$t->spew('aws-small.cfg', "[default]\ns3 =\n  multipart_threshold = 5MB\n"
                          . "  multipart_chunksize = 5MB\n");
$r = $t->s3('s3', 'cp', "s3://$B/multi", "s3://$B2/multi-cli", '--sse',
            'aws:kms', '--sse-kms-key-id', $kb->{KeyId},
            { env => { AWS_CONFIG_FILE => $cfg } });
is($r->{rc}, 0, 'aws s3 cp s3:// s3:// of 14 MiB with 5 MiB parts') or diag $r->{err};
like($t->slurp($t->dir . '/access.log'), qr{"PUT /\Q$B2\E/multi-cli\?[^"]*partNumber=3[^"]*" 200},
     '... by UploadPartCopy (three parts)');
ok(get('multi-cli', bucket => $B2)->{body} eq $t->slurp($mp), '... decrypts to the bytes');
is(meta('multi-cli', $B2)->{'x-amz-meta-ssek-key'}, $kb->{Arn}, '... under key B');

# by hand: ranges of a single-part source and of a multipart one
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'parts',
                    query => { uploads => '' }, headers => { sse($kb->{KeyId}) });
my ($upload) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
ok($upload, 'CreateMultipartUpload') or diag $r->{body};
my $big = $t->slurp($mp);
my @ranges = ([100, 5 * 1024 * 1024 + 99, "/$B/multi"],
              [8 * 1024 * 1024 - 10, 13 * 1024 * 1024 - 11, "/$B/multi"],
              [1000, 250000, "/$B/dst"]);
my @etags;
for my $i (0 .. $#ranges) {
    my ($a, $b, $src) = @{$ranges[$i]};
    $r = $t->s3_request(method => 'PUT', bucket => $B, key => 'parts',
                        query => { partNumber => $i + 1, uploadId => $upload },
                        headers => { 'x-amz-copy-source' => $src,
                                     'x-amz-copy-source-range' => "bytes=$a-$b" });
    is($r->{status}, 200, "UploadPartCopy of bytes $a-$b of $src") or diag $r->{body};
    like($r->{body}, qr{<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>[^<]+</LastModified><ETag>&quot;[^<]+&quot;</ETag></CopyPartResult>},
         '... answered with CopyPartResult');
    my ($e) = ($r->{body} // '') =~ m{<ETag>&quot;(.+?)&quot;</ETag>};
    push @etags, $e;
}
my $want = substr($big, 100, 5 * 1024 * 1024)
           . substr($big, 8 * 1024 * 1024 - 10, 5 * 1024 * 1024)
           . substr($data, 1000, 249001);
my $xml = '<CompleteMultipartUpload>' . join('', map {
    '<Part><PartNumber>' . ($_ + 1) . '</PartNumber><ETag>"' . $etags[$_]
    . '"</ETag></Part>' } 0 .. $#etags) . '</CompleteMultipartUpload>';
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'parts',
                    query => { uploadId => $upload }, body => $xml);
is($r->{status}, 200, 'CompleteMultipartUpload of the copied parts') or diag $r->{body};
$r = get('parts');
ok($r->{status} == 200 && $r->{body} eq $want, '... the object is the ranges, in order');

# an upload with an S3 Bucket Key: the copied part is encrypted under the
# key derived from the bucket key and the upload's salt, as UploadPart's
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'bk-parts',
                    query => { uploads => '' },
                    headers => { sse($kb->{KeyId}),
                                 'x-amz-server-side-encryption-bucket-key-enabled' => 'true' });
my ($bk_upload) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
ok($bk_upload, 'CreateMultipartUpload with a bucket key') or diag $r->{body};
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'bk-parts',
                    query => { partNumber => 1, uploadId => $bk_upload },
                    headers => { 'x-amz-copy-source' => "/$B/dst",
                                 'x-amz-copy-source-range' => 'bytes=0-99999' });
is($r->{status}, 200, 'UploadPartCopy into a bucket-key upload') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answered with -bucket-key-enabled: true');
my ($bk_etag) = ($r->{body} // '') =~ m{<ETag>&quot;(.+?)&quot;</ETag>};
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'bk-parts',
                    query => { uploadId => $bk_upload },
                    body => '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'
                            . "<ETag>\"$bk_etag\"</ETag></Part></CompleteMultipartUpload>");
is($r->{status}, 200, '... completed') or diag $r->{body};
ok(meta('bk-parts')->{'x-amz-meta-ssek-bk'}, '... stored with x-amz-meta-ssek-bk');
$r = get('bk-parts');
ok($r->{status} == 200 && $r->{body} eq substr($data, 0, 100000),
   '... and reads back as the source range') or diag $r->{status};

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'parts',
                    query => { partNumber => 9, uploadId => $upload },
                    headers => { 'x-amz-copy-source' => "/$B/dst",
                                 'x-amz-copy-source-range' => 'bytes=10-999999' });
$t->is_s3_error($r, 400, 'InvalidArgument', 'a copy-source-range past the source');
like($r->{body}, qr{<Message>Range specified is not valid for source object of size: 300000</Message>},
     '... S3\'s message (t/gw-copy-tags.t has the others)');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'parts',
                    query => { partNumber => 9, uploadId => $upload },
                    headers => { 'x-amz-copy-source' => "/$B/dst",
                                 'x-amz-copy-source-range' => 'bytes=9-5' });
$t->is_s3_error($r, 400, 'InvalidArgument', 'a malformed copy-source-range');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'parts',
                    query => { partNumber => 1, uploadId => 'nosuchupload' },
                    headers => { 'x-amz-copy-source' => "/$B/dst" });
$t->is_s3_error($r, 404, 'NoSuchUpload', 'UploadPartCopy to an unknown upload');

# boto3's managed copy (multipart above its threshold: UploadPartCopy)
$r = $t->python(<<'PY', args => [$t->s3_endpoint, $B, $B2, $kb->{KeyId}]);
import sys, boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
endpoint, src, dst, key = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint,
                  config=Config(s3={'addressing_style': 'path'}))
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024,
                    multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
s3.copy({'Bucket': src, 'Key': 'multi'}, dst, 'boto-multi', Config=tc,
        ExtraArgs={'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': key})
s3.copy({'Bucket': src, 'Key': 'dst'}, dst, 'boto-small', Config=tc)
print('done')
PY
like($r->{out}, qr/done/, 'boto3 copy(), managed, multipart and single') or diag $r->{err};
ok(get('boto-multi', bucket => $B2)->{body} eq $big, '... the multipart copy decrypts');
is(get('boto-small', bucket => $B2)->{body}, $data, '... the small one too');

# ---- errors ------------------------------------------------------------------------------

$r = copy('x', "/$B/missing");
$t->is_s3_error($r, 404, 'NoSuchKey', 'a missing source: NoSuchKey', from_backend => 1);
$r = copy('x', "/$B");
$t->is_s3_error($r, 400, 'InvalidArgument', 'a copy source without a key');
$r = copy('x', "/$B/dst", who => 'carol');
ok($r->{status} == 403, 'another account: refused (AccessDenied)')
    or diag $r->{status}, $r->{body};
is($t->backend_get($B, 'x')->{status}, 404, 'no target stored by the failures');

# a source whose stored frame was altered: the copy fails, nothing stored
$r = put('victim', $data, sse($kb->{KeyId}));
my $victim = $t->backend_get($B, 'victim');
my %vh = map { $_ => $victim->{headers}{$_} }
         grep { /^x-amz-meta-/ } keys %{$victim->{headers}};
my $body = $victim->{body};
substr($body, 72 + 70000, 1) ^= "\x01";
$r = $t->backend_put($B, 'victim', $body, \%vh);
is($r->{status}, 200, 'a frame of a source altered at the backend');
$t->redis_cmd('DEL', "ssek:obj:{$B}:victim");
$r = copy('victim-copy', "/$B/victim", sse($kb->{KeyId}));
$t->is_s3_error($r, 500, 'InternalError', 'the copy fails');
is($t->backend_get($B, 'victim-copy')->{status}, 404, '... the target is not created');
like($t->error_log, qr/copy source \Q$B\E\/victim: .*authentication failed/,
     '... the log says why');
$t->allow_log(qr/authentication failed/);

$t->done;
