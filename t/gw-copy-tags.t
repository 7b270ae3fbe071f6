# CopyObject's tags and the object index's "null" version, as S3:
# x-amz-tagging-directive COPY (the default) gives the target the source's
# tags (of the source version named), REPLACE the request's, anything else
# is InvalidArgument; GetObject/HeadObject ?versionId=null use the index
# entry of an object written while its bucket was unversioned (an SSE-S3
# object's ETag is its MD5, a multipart object's part table is the
# manifest-verified one), and a copy source ?versionId=null too; an
# UploadPartCopy range beyond its source gets S3's InvalidArgument.

use strict; use warnings; use lib 't/lib'; use Test::More; use S3KMS::Test;
use Digest::MD5 qw(md5_hex);

my $t = S3KMS::Test->new(name => 'gw-copy-tags');
$t->start_redis;
$t->start_moto;
# a multipart object whose table is rebuilt from segment headers is refused:
# a ?versionId=null read that misses the index cannot succeed
$t->start_nginx(gateway => '            s3_kms_unverified_objects refuse;');

my $B = 'tagbkt';
my $V = 'tagvers';
my $N = 'nullbkt';
my $r;

for my $b ($B, $V, $N) {
    $r = $t->s3_request(method => 'PUT', bucket => $b);
    is($r->{status}, 200, "CreateBucket $b");
}

my $k = $t->aws('kms', 'create-key', '--description', 'copy tags')->{json}{KeyMetadata};
ok($k, 'a KMS key');
my @sse = ('x-amz-server-side-encryption' => 'aws:kms',
           'x-amz-server-side-encryption-aws-kms-key-id' => $k->{KeyId});

my $data = $t->bytes(100000, 'tagged source');

sub put {
    my ($b, $key, $body, %h) = @_;
    return $t->s3_request(method => 'PUT', bucket => $b, key => $key,
                          body => $body, headers => \%h);
}

sub copy {
    my ($b, $key, $src, %h) = @_;
    return $t->s3_request(method => 'PUT', bucket => $b, key => $key,
                          headers => { 'x-amz-copy-source' => $src, %h });
}

# the object's tags as aws s3api get-object-tagging sees them, "k=v;k=v"
sub tags {
    my ($b, $key, @extra) = @_;
    my $r = $t->s3('s3api', 'get-object-tagging', '--bucket', $b,
                   '--key', $key, @extra);
    return "error: $r->{err}" if $r->{rc};
    return join ';', sort map { "$_->{Key}=$_->{Value}" }
                          @{$r->{json}{TagSet} || []};
}

# ---- tagging directive COPY (the default) and REPLACE ----------------------------------

# keys and values that need encoding: space, '+', '=', '/', ':', '@' (the
# characters S3 allows in tags besides letters and digits)
$r = put($B, 'src', $data, @sse,
         'x-amz-tagging' => 'colour=blue&my%20key=a%20b%2Bc%3Dd%2Fe%3Af%40g'
                            . '&k.-_=v.-_');
is($r->{status}, 200, 'a source with three tags') or diag $r->{body};
my $src_tags = 'colour=blue;k.-_=v.-_;my key=a b+c=d/e:f@g';
my $got = tags($B, 'src');
is($got, $src_tags, '... get-object-tagging through the gateway shows them');

$r = $t->s3('s3api', 'copy-object', '--bucket', $B, '--key', 'default',
            '--copy-source', "$B/src");
is($r->{rc}, 0, 'aws s3api copy-object, no directive') or diag $r->{err};
$got = tags($B, 'default');
is($got, $src_tags, '... the copy has the source\'s tags (S3\'s default COPY)');
is($t->s3_request(method => 'GET', bucket => $B, key => 'default')->{body},
   $data, '... and its bytes');

$r = $t->s3('s3api', 'copy-object', '--bucket', $B, '--key', 'with-copy',
            '--copy-source', "$B/src", '--tagging-directive', 'COPY',
            '--tagging', 'ignored=yes');
is($r->{rc}, 0, 'copy-object --tagging-directive COPY --tagging ...')
    or diag $r->{err};
$got = tags($B, 'with-copy');
is($got, $src_tags, '... the source\'s tags, not the request\'s');

$r = $t->s3('s3api', 'copy-object', '--bucket', $B, '--key', 'replaced',
            '--copy-source', "$B/src", '--tagging-directive', 'REPLACE',
            '--tagging', 'new=1&other=two%20words');
is($r->{rc}, 0, 'copy-object --tagging-directive REPLACE --tagging ...')
    or diag $r->{err};
is(tags($B, 'replaced'), 'new=1;other=two words', '... the request\'s tags only');

$r = $t->s3('s3api', 'copy-object', '--bucket', $B, '--key', 'dropped',
            '--copy-source', "$B/src", '--tagging-directive', 'REPLACE');
is($r->{rc}, 0, 'REPLACE without x-amz-tagging') or diag $r->{err};
is(tags($B, 'dropped'), '', '... no tags');

$r = put($B, 'untagged', $data, @sse);
$r = copy($B, 'from-untagged', "/$B/untagged", 'x-amz-tagging' => 'x=y');
is($r->{status}, 200, 'COPY from a source without tags') or diag $r->{body};
is(tags($B, 'from-untagged'), '', '... no tags (the request\'s do not apply)');

# metadata REPLACE and tagging COPY are independent
$r = copy($B, 'meta-replace', "/$B/src", 'x-amz-metadata-directive' => 'REPLACE',
          'x-amz-meta-shape' => 'round');
is($r->{status}, 200, 'metadata REPLACE, tagging COPY') or diag $r->{body};
$got = tags($B, 'meta-replace');
is($got, $src_tags, '... the source\'s tags');

for my $bad ('MERGE', 'copy', '') {
    $r = copy($B, 'bad-directive', "/$B/src", 'x-amz-tagging-directive' => $bad);
    $t->is_s3_error($r, 400, 'InvalidArgument', "tagging directive '$bad' refused");
    like($r->{body}, qr{<Message>Unknown tagging directive\.</Message><ArgumentName>x-amz-tagging-directive</ArgumentName><ArgumentValue>\Q$bad\E</ArgumentValue>},
         '... with S3\'s message and the argument');
}
is($t->backend_get($B, 'bad-directive')->{status}, 404, '... nothing stored');

# ---- the tags of a source version --------------------------------------------------------

$r = $t->s3('s3api', 'put-bucket-versioning', '--bucket', $V,
            '--versioning-configuration', 'Status=Enabled');
is($r->{rc}, 0, 'a versioned bucket') or diag $r->{err};
$r = put($V, 'obj', 'version one', @sse, 'x-amz-tagging' => 'v=one');
my $v1 = $r->{headers}{'x-amz-version-id'};
$r = put($V, 'obj', 'version two', @sse, 'x-amz-tagging' => 'v=two&extra=1');
my $v2 = $r->{headers}{'x-amz-version-id'};
ok($v1 && $v2 && $v1 ne $v2, 'two versions, tagged differently');

$r = $t->s3('s3api', 'copy-object', '--bucket', $B, '--key', 'from-v1',
            '--copy-source', "$V/obj?versionId=$v1");
is($r->{rc}, 0, 'copy-object of the first version') or diag $r->{err};
is($r->{json}{CopySourceVersionId}, $v1, '... CopySourceVersionId names it');
is(tags($B, 'from-v1'), 'v=one', '... that version\'s tags');
is($t->s3_request(method => 'GET', bucket => $B, key => 'from-v1')->{body},
   'version one', '... and bytes');
$r = copy($B, 'from-latest', "/$V/obj");
is(tags($B, 'from-latest'), 'extra=1;v=two', 'without a version: the latest\'s');

# ---- ?versionId=null: the unversioned index entry ------------------------------------------

# SSE-S3 in a bucket that was never versioned: S3's ETag is the MD5
my $plain = $t->bytes(70000, 'null version');
$r = put($N, 'sses3', $plain, 'x-amz-server-side-encryption' => 'AES256');
is($r->{status}, 200, 'an SSE-S3 object in an unversioned bucket');
my $md5 = '"' . md5_hex($plain) . '"';
is($r->{headers}{etag}, $md5, '... its ETag the MD5');
my $backend_etag = $t->backend_get($N, 'sses3', method => 'HEAD')->{headers}{etag};
isnt($backend_etag, $md5, '... not the backend\'s (of ciphertext)');

$r = $t->s3_request(method => 'GET', bucket => $N, key => 'sses3',
                    query => { versionId => 'null' });
ok($r->{status} == 200 && $r->{body} eq $plain, 'GET ?versionId=null decrypts');
is($r->{headers}{etag}, $md5, '... with the MD5 ETag, as without the version');
$r = $t->s3('s3api', 'get-object', '--bucket', $N, '--key', 'sses3',
            '--version-id', 'null', $t->dir . '/null.out');
is($r->{json}{ETag}, $md5, 'aws s3api get-object --version-id null: the MD5');

# a multipart object: its manifest-verified part table (a rebuilt one is
# refused here, s3_kms_unverified_objects refuse)
my $cfg = $t->dir . '/aws-small.cfg';
$t->spew('aws-small.cfg', "[default]\ns3 =\n  multipart_threshold = 5MB\n"
                          . "  multipart_chunksize = 5MB\n");
my $mp = $t->dir . '/mp.bin';
$t->make_file('mp.bin', 11 * 1024 * 1024 + 7);
my $big = $t->slurp($mp);
$r = $t->s3('s3', 'cp', $mp, "s3://$N/multi", '--sse', 'aws:kms',
            '--sse-kms-key-id', $k->{KeyId},
            { env => { AWS_CONFIG_FILE => $cfg } });
is($r->{rc}, 0, 'a multipart object (three parts)') or diag $r->{err};
$r = $t->s3_request(method => 'GET', bucket => $N, key => 'multi',
                    query => { versionId => 'null' });
ok($r->{status} == 200 && $r->{body} eq $big,
   'GET ?versionId=null of it: served from its manifest-verified table')
    or diag $r->{status}, substr($r->{body} // '', 0, 300);
$r = $t->s3_request(method => 'GET', bucket => $N, key => 'multi',
                    query => { versionId => 'null', partNumber => 2 });
ok($r->{status} == 206 && $r->{body} eq substr($big, 5 * 1024 * 1024, 5 * 1024 * 1024),
   '... ?partNumber=2 too') or diag $r->{status};
is($r->{headers}{'x-amz-mp-parts-count'}, 3, '... x-amz-mp-parts-count from the table');
unlike($t->error_log, qr{multi: (part table rebuilt|.*manifest-unverified)},
       '... the part table was never rebuilt');

# a copy source ?versionId=null: the index's table (the multipart source
# would otherwise be refused until a GET rebuilt its table)
$r = copy($B, 'null-copy', "/$N/multi?versionId=null", @sse);
is($r->{status}, 200, 'CopyObject of multi?versionId=null') or diag $r->{body};
is($r->{headers}{'x-amz-copy-source-version-id'}, 'null',
   '... x-amz-copy-source-version-id: null') if $r->{headers}{'x-amz-copy-source-version-id'};
ok($t->s3_request(method => 'GET', bucket => $B, key => 'null-copy')->{body} eq $big,
   '... decrypts to the bytes');
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'null-parts',
                    query => { uploads => '' }, headers => { @sse });
my ($upload) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
ok($upload, 'CreateMultipartUpload');
$r = $t->s3_request(bucket => $B, key => 'null-parts',
                    query => { partNumber => 1, uploadId => $upload },
                    headers => { 'x-amz-copy-source' => "/$N/multi?versionId=null",
                                 'x-amz-copy-source-range' => 'bytes=5242870-5242889' });
is($r->{status}, 200, 'UploadPartCopy of a range of multi?versionId=null')
    or diag $r->{body};
unlike($t->error_log, qr{copy source \Q$N\E/multi: .*(damaged|unverified)},
       '... from the index\'s table');

# the bucket versioned afterwards (moto answers HEAD ?versionId= only in a
# versioned bucket; S3 in any): the entries are still the "null" versions'
$r = $t->s3('s3api', 'put-bucket-versioning', '--bucket', $N,
            '--versioning-configuration', 'Status=Enabled');
is($r->{rc}, 0, 'the bucket versioned now');
$r = $t->s3_request(method => 'HEAD', bucket => $N, key => 'sses3',
                    query => { versionId => 'null' });
is($r->{status}, 200, 'HEAD ?versionId=null') or diag $r->{status};
is($r->{headers}{etag}, $md5, '... the MD5, as without the version');
is($r->{headers}{'content-length'}, length $plain, '... the plaintext length');
$r = $t->s3('s3api', 'head-object', '--bucket', $N, '--key', 'sses3',
            '--version-id', 'null');
is($r->{json}{ETag}, $md5, 'aws s3api head-object --version-id null: the MD5');
$r = $t->s3_request(method => 'HEAD', bucket => $N, key => 'multi',
                    query => { versionId => 'null' });
ok($r->{status} == 200 && $r->{headers}{'content-length'} == length $big,
   'HEAD ?versionId=null of the multipart object: the plaintext length')
    or diag $r->{status};
unlike($t->error_log, qr{multi: (part table rebuilt|.*manifest-unverified)},
       '... from its table');

# the key written again: the entry is the new version's, the "null"
# version is still served (from the backend, not the entry)
my $plain2 = $t->bytes(5000, 'the second version');
$r = put($N, 'sses3', $plain2, 'x-amz-server-side-encryption' => 'AES256');
ok($r->{headers}{'x-amz-version-id'}, 'the key written again: a version id');
$r = $t->s3_request(method => 'GET', bucket => $N, key => 'sses3',
                    query => { versionId => 'null' });
ok($r->{status} == 200 && $r->{body} eq $plain,
   'GET ?versionId=null: the old object, not the new entry\'s') or diag $r->{status};
$r = $t->s3_request(method => 'HEAD', bucket => $N, key => 'sses3',
                    query => { versionId => 'null' });
ok($r->{status} == 200 && $r->{headers}{'content-length'} == length $plain,
   'HEAD ?versionId=null: its length') or diag $r->{status};
$r = $t->s3_request(method => 'GET', bucket => $N, key => 'sses3');
ok($r->{status} == 200 && $r->{body} eq $plain2
   && $r->{headers}{etag} eq '"' . md5_hex($plain2) . '"',
   'the latest is still served from its entry (MD5 ETag)');
$r = copy($B, 'old-null', "/$N/sses3?versionId=null", @sse);
is($r->{status}, 200, 'CopyObject of sses3?versionId=null') or diag $r->{body};
is($t->s3_request(method => 'GET', bucket => $B, key => 'old-null')->{body},
   $plain, '... the old object\'s bytes');

# ---- UploadPartCopy ranges: S3's errors ----------------------------------------------------

$r = $t->s3_request(method => 'POST', bucket => $B, key => 'parts',
                    query => { uploads => '' }, headers => { @sse });
($upload) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
ok($upload, 'CreateMultipartUpload for the range errors');

sub part_copy {
    my ($src, $range) = @_;
    return $t->s3_request(method => 'PUT', bucket => $B, key => 'parts',
                          query => { partNumber => 1, uploadId => $upload },
                          headers => { 'x-amz-copy-source' => $src,
                                       'x-amz-copy-source-range' => $range });
}

my $len = length $data;
for my $range ("bytes=10-$len", "bytes=$len-" . ($len + 5), 'bytes=0-999999999') {
    $r = part_copy("/$B/src", $range);
    $t->is_s3_error($r, 400, 'InvalidArgument', "range $range beyond $len bytes");
    like($r->{body}, qr{<Message>Range specified is not valid for source object of size: $len</Message><ArgumentName>x-amz-copy-source-range</ArgumentName><ArgumentValue>\Q$range\E</ArgumentValue>},
         '... S3\'s message, naming the size');
}
$r = part_copy("/$B/src", 'bytes=0-' . ($len - 1));
is($r->{status}, 200, 'the whole source as a range: accepted') or diag $r->{body};

# the same without the source's index entry (the backend's size decides)
$t->redis_cmd('DEL', "ssek:obj:{$B}:src");
$r = part_copy("/$B/src", "bytes=10-$len");
$t->is_s3_error($r, 400, 'InvalidArgument', 'beyond the source, its index entry gone');
like($r->{body}, qr{<Message>Range specified is not valid for source object of size: $len</Message>},
     '... the same message');

# an empty source: no range of it exists
$r = put($B, 'empty', '', @sse);
$t->redis_cmd('DEL', "ssek:obj:{$B}:empty");
$r = part_copy("/$B/empty", 'bytes=0-0');
$t->is_s3_error($r, 400, 'InvalidArgument', 'a range of an empty source');
like($r->{body}, qr{<Message>Range specified is not valid for source object of size: 0</Message>},
     '... of size 0');

my $malformed = 'The x-amz-copy-source-range value must be of the form '
              . 'bytes=first-last where first and last are the zero-based '
              . 'offsets of the first and last bytes to copy';
for my $range ('bytes=9-5', 'bytes=a-b', 'bytes=5-', '0-5', 'bytes=1-2,4-5') {
    $r = part_copy("/$B/src", $range);
    $t->is_s3_error($r, 400, 'InvalidArgument', "malformed range '$range'");
    like($r->{body}, qr{<Message>\Q$malformed\E</Message><ArgumentName>x-amz-copy-source-range</ArgumentName><ArgumentValue>\Q$range\E</ArgumentValue>},
         '... S3\'s message');
}

$t->done;
