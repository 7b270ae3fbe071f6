# Index entries for the versions a PUT creates: in a versioned bucket the
# gateway writes an object's entry also under ssek:obj:{B}:KEY:VERSION
# (PutObject, CompleteMultipartUpload, a CopyObject's target), so GET and
# HEAD ?versionId= of any version written through it hit the index: the
# manifest-verified part table of a multipart version (served under
# s3_kms_unverified_objects refuse, which refuses a rebuilt one), the MD5
# ETag of an SSE-S3 version; a copy of an older multipart version by id;
# DeleteObject ?versionId= drops that version's entry (and the key's
# entry when it was that version's); an unversioned bucket gets none.

use strict; use warnings; use lib 't/lib'; use Test::More; use S3KMS::Test;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(sleep);

my $t = S3KMS::Test->new(name => 'gw-versions');
$t->start_redis;
$t->start_moto;
$t->start_nginx(gateway => '            s3_kms_unverified_objects refuse;');

my $B = 'verbkt';
my $U = 'plainbkt';
my $r;

for my $b ($B, $U) {
    $r = $t->s3_request(method => 'PUT', bucket => $b);
    is($r->{status}, 200, "CreateBucket $b");
}
$r = $t->s3('s3api', 'put-bucket-versioning', '--bucket', $B,
            '--versioning-configuration', 'Status=Enabled');
is($r->{rc}, 0, 'put-bucket-versioning Enabled') or diag $r->{err};

my $k = $t->aws('kms', 'create-key', '--description', 'versions')->{json}{KeyMetadata};
ok($k, 'a KMS key');
my @sse = ('x-amz-server-side-encryption' => 'aws:kms',
           'x-amz-server-side-encryption-aws-kms-key-id' => $k->{KeyId});

sub put {
    my ($b, $key, $body, %h) = @_;
    return $t->s3_request(method => 'PUT', bucket => $b, key => $key,
                          body => $body, headers => \%h);
}

sub get_v {
    my ($method, $b, $key, $v) = @_;
    return $t->s3_request(method => $method, bucket => $b, key => $key,
                          query => { versionId => $v });
}

# EXISTS of an index entry.  Index writes and deletions do not hold up
# the client's answer (the index is a cache): wait up to 3 s for $want.
sub entry_exists {
    my ($b, $key, $v, $want) = @_;
    my $name = "ssek:obj:{$b}:$key" . (defined $v ? ":$v" : '');
    my $n;
    for (1 .. 30) {
        $n = $t->redis_cmd('EXISTS', $name);
        last if !defined $want || $n == $want;
        sleep 0.1;
    }
    return $n;
}

# ---- three versions of one key ----------------------------------------------------------

# v1: a single PUT with SSE-KMS
my $p1 = $t->bytes(150000, 'version one');
$r = put($B, 'obj', $p1, @sse);
is($r->{status}, 200, 'v1: a single PUT (SSE-KMS)') or diag $r->{body};
my $v1 = $r->{headers}{'x-amz-version-id'};
my $e1 = $r->{headers}{etag};
ok($v1 && $v1 ne 'null', '... the client got a version id');

# v2: a multipart upload of 9 MiB (aws s3 cp: two parts of 8 MiB and 1 MiB)
my $mp = $t->dir . '/nine.bin';
$t->make_file('nine.bin', 9 * 1024 * 1024);
my $p2 = $t->slurp($mp);
$r = $t->s3('s3', 'cp', $mp, "s3://$B/obj", '--sse', 'aws:kms',
            '--sse-kms-key-id', $k->{KeyId});
is($r->{rc}, 0, 'v2: aws s3 cp of 9 MiB (multipart)') or diag $r->{err};
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'obj');
my $v2 = $r->{headers}{'x-amz-version-id'};
my $e2 = $r->{headers}{etag};
ok($v2 && $v2 ne 'null' && $v2 ne $v1, '... a second version id') or diag $v2;
like($e2 // '', qr/^"[0-9a-f]{32}-2"$/, '... a multipart ETag of two parts');

# v3: a single PUT with SSE-S3
my $p3 = $t->bytes(70001, 'version three');
$r = put($B, 'obj', $p3, 'x-amz-server-side-encryption' => 'AES256');
is($r->{status}, 200, 'v3: a single PUT (SSE-S3)') or diag $r->{body};
my $v3 = $r->{headers}{'x-amz-version-id'};
my $e3 = '"' . md5_hex($p3) . '"';
ok($v3 && $v3 ne 'null' && $v3 ne $v1 && $v3 ne $v2, '... a third version id');
is($r->{headers}{etag}, $e3, '... its ETag the plaintext MD5');

is(entry_exists($B, 'obj', $v1, 1), 1, 'PutObject indexed its version: ssek:obj:{B}:obj:V1');
is(entry_exists($B, 'obj', $v2, 1), 1, 'CompleteMultipartUpload indexed its version: :V2');
is(entry_exists($B, 'obj', $v3, 1), 1, 'the SSE-S3 PUT indexed its version: :V3');
is($t->redis_cmd('HGET', "ssek:obj:{$B}:obj:$v3", 'md5'), md5_hex($p3),
   '... with the MD5, as the key\'s entry has it');
ok(length($t->redis_cmd('HGET', "ssek:obj:{$B}:obj:$v2", 'parts') // ''),
   '... and the multipart version with its part table');

# ---- GET and HEAD of each version by id, from the index -----------------------------------

$r = get_v('GET', $B, 'obj', $v1);
ok($r->{status} == 200 && $r->{body} eq $p1, 'GET ?versionId=V1: its bytes')
    or diag $r->{status};
is($r->{headers}{etag}, $e1, '... its ETag');
is($r->{headers}{'x-amz-version-id'}, $v1, '... x-amz-version-id V1');
$r = get_v('HEAD', $B, 'obj', $v1);
ok($r->{status} == 200 && $r->{headers}{'content-length'} == length $p1
   && $r->{headers}{etag} eq $e1, 'HEAD ?versionId=V1: its length and ETag')
    or diag $r->{status};

$r = get_v('GET', $B, 'obj', $v2);
ok($r->{status} == 200 && length($r->{body}) == length($p2) && $r->{body} eq $p2,
   'GET ?versionId=V2 of the multipart version: served (manifest-verified table, refuse on)')
    or diag $r->{status}, ' ', substr($r->{body} // '', 0, 300);
is($r->{headers}{etag}, $e2, '... its multipart ETag');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'obj',
                    query => { versionId => $v2, partNumber => 2 });
ok($r->{status} == 206 && $r->{body} eq substr($p2, 8 * 1024 * 1024),
   '... ?partNumber=2 of it too') or diag $r->{status};
is($r->{headers}{'x-amz-mp-parts-count'}, 2, '... x-amz-mp-parts-count 2');
$r = get_v('HEAD', $B, 'obj', $v2);
ok($r->{status} == 200 && $r->{headers}{'content-length'} == length $p2
   && $r->{headers}{etag} eq $e2, 'HEAD ?versionId=V2: plaintext length and ETag')
    or diag $r->{status};
unlike($t->error_log, qr{obj: (part table rebuilt|.*manifest-unverified)},
       '... its part table never rebuilt');

$r = get_v('GET', $B, 'obj', $v3);
ok($r->{status} == 200 && $r->{body} eq $p3, 'GET ?versionId=V3: its bytes')
    or diag $r->{status};
is($r->{headers}{etag}, $e3, '... the SSE-S3 ETag is the plaintext MD5');
$r = get_v('HEAD', $B, 'obj', $v3);
is($r->{headers}{etag}, $e3, 'HEAD ?versionId=V3: the MD5 too');
$r = $t->s3('s3api', 'head-object', '--bucket', $B, '--key', 'obj',
            '--version-id', $v3);
is($r->{json}{ETag}, $e3, 'aws s3api head-object --version-id V3: the MD5');

# ---- a copy of an older multipart version -------------------------------------------------

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'copy-of-v2',
                    headers => { 'x-amz-copy-source' => "/$B/obj?versionId=$v2",
                                 @sse });
is($r->{status}, 200, 'CopyObject of obj?versionId=V2 (multipart, refuse on)')
    or diag $r->{body};
my $cv = $r->{headers}{'x-amz-version-id'};
is($r->{headers}{'x-amz-copy-source-version-id'}, $v2,
   '... x-amz-copy-source-version-id V2');
ok($cv && $cv ne 'null', '... the target got a version id');
ok($t->s3_request(method => 'GET', bucket => $B, key => 'copy-of-v2')->{body} eq $p2,
   '... the copy decrypts to V2\'s bytes');
is(entry_exists($B, 'copy-of-v2', $cv, 1), 1, 'the copy\'s target indexed its version');
$r = get_v('GET', $B, 'copy-of-v2', $cv);
ok($r->{status} == 200 && $r->{body} eq $p2, '... GET of it by version id')
    or diag $r->{status};

# ---- DeleteObject ?versionId ---------------------------------------------------------------

$r = $t->s3_request(method => 'DELETE', bucket => $B, key => 'obj',
                    query => { versionId => $v1 });
is($r->{status}, 204, 'DeleteObject ?versionId=V1') or diag $r->{body};
is(entry_exists($B, 'obj', $v1, 0), 0, '... its entry gone');
is(entry_exists($B, 'obj', $v2, 1), 1, '... V2\'s kept');
is(entry_exists($B, 'obj', undef, 1), 1, '... the key\'s (the latest, V3) kept');
$r = get_v('GET', $B, 'obj', $v2);
ok($r->{status} == 200 && $r->{body} eq $p2, '... V2 still served from its entry');

# the latest version deleted: the key's entry was that version's
$r = put($B, 'two', 'first of two', @sse);
my $w1 = $r->{headers}{'x-amz-version-id'};
$r = put($B, 'two', 'second of two', @sse);
my $w2 = $r->{headers}{'x-amz-version-id'};
ok($w1 && $w2 && $w1 ne $w2, 'a key with two versions');
$r = $t->s3_request(method => 'DELETE', bucket => $B, key => 'two',
                    query => { versionId => $w2 });
is($r->{status}, 204, 'DeleteObject ?versionId= of the latest');
is(entry_exists($B, 'two', $w2, 0), 0, '... its entry gone');
is(entry_exists($B, 'two', undef, 0), 0, '... and the key\'s, which was the same version\'s');
is(entry_exists($B, 'two', $w1, 1), 1, '... the older version\'s kept');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'two');
ok($r->{status} == 200 && $r->{body} eq 'first of two',
   'GET of the key: the older version, at once (no stale entry)')
    or diag $r->{status}, ' ', $r->{body};

# DeleteObjects with version ids
$r = $t->s3('s3api', 'delete-objects', '--bucket', $B, '--delete',
            "Objects=[{Key=copy-of-v2,VersionId=$cv}]");
is($r->{rc}, 0, 'DeleteObjects with a version id') or diag $r->{err};
is(entry_exists($B, 'copy-of-v2', $cv, 0), 0, '... that version\'s entry gone');

# ---- an unversioned bucket: no :VERSION entries --------------------------------------------

$r = put($U, 'plain', 'unversioned', @sse);
is($r->{status}, 200, 'a PUT to an unversioned bucket');
my $uv = $r->{headers}{'x-amz-version-id'};
ok(!defined $uv || $uv eq 'null', '... no version id, or "null"')
    or diag $uv;
$r = $t->s3_request(method => 'PUT', bucket => $U, key => 'plain-copy',
                    headers => { 'x-amz-copy-source' => "/$B/obj?versionId=$v3" });
is($r->{status}, 200, 'a copy into it');
$r = $t->s3('s3', 'cp', $mp, "s3://$U/multi");
is($r->{rc}, 0, 'a multipart upload into it') or diag $r->{err};
my $keys = $t->redis_cmd('KEYS', "ssek:obj:{$U}:*");
is(join(',', sort @$keys),
   join(',', map { "ssek:obj:{$U}:$_" } qw(multi plain plain-copy)),
   '... only the keys\' entries, none with a version');

$t->done;
