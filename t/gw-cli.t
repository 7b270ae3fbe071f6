# The real aws CLI through the gateway: s3 cp up and down, s3api
# put-object/get-object/head-object with ranges, SSE-KMS with every way of
# naming the key, encryption contexts, user metadata, 100 MiB; what the
# backend holds is ciphertext in DESIGN.md section 3's format.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64;
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-cli');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $B = 'clibkt';
my $d = $t->dir;
my $F = 65536;

my $r = $t->s3('s3', 'mb', "s3://$B");
is($r->{rc}, 0, 's3 mb') or diag $r->{err};

my $key = $t->aws(qw(kms create-key --description gw-cli))->{json}{KeyMetadata};
$t->aws(qw(kms create-alias --alias-name alias/cli --target-key-id), $key->{KeyId});
my $alias_arn = "arn:aws:kms:us-east-1:$S3KMS::Test::CRED{alice}[2]:alias/cli";

# ---- s3 cp up and down, sizes around the frame size --------------------------------------

for my $size (0, 1, $F - 1, $F, $F + 1) {
    my $f = $t->make_file("cp-$size", $size);
    $r = $t->s3('s3', 'cp', $f, "s3://$B/cp/$size");
    is($r->{rc}, 0, "s3 cp up, $size bytes") or diag $r->{err};
    unlink "$d/down";
    $r = $t->s3('s3', 'cp', "s3://$B/cp/$size", "$d/down");
    is($r->{rc}, 0, "s3 cp down, $size bytes") or diag $r->{err};
    ok(-e "$d/down" && $t->slurp("$d/down") eq $t->slurp($f),
       "$size bytes come back byte-identical");
    $t->stored_ok($B, "cp/$size", $t->slurp($f), "$size bytes stored encrypted",
                  alg => 'AES256');
}

# ---- SSE-KMS, every way of naming the key --------------------------------------------------

my $data_f = $t->make_file('kms', 3 * $F + 5);
my $data = $t->slurp($data_f);
for my $ref (['no key id' => undef, 'default'], ['key id' => $key->{KeyId}],
             ['key ARN' => $key->{Arn}], ['alias name' => 'alias/cli'],
             ['alias ARN' => $alias_arn]) {
    my ($what, $v) = @$ref;
    my $k = "kms/$what" =~ s/ /-/gr;
    $r = $t->s3('s3', 'cp', $data_f, "s3://$B/$k", '--sse', 'aws:kms',
                defined $v ? ('--sse-kms-key-id', $v) : ());
    is($r->{rc}, 0, "s3 cp --sse aws:kms, $what") or diag $r->{err};
    $r = $t->s3(qw(s3api head-object --bucket), $B, '--key', $k);
    is($r->{json}{ServerSideEncryption}, 'aws:kms', '... head-object: aws:kms');
    if (defined $v) {
        is($r->{json}{SSEKMSKeyId}, $key->{Arn}, '... head-object: the key ARN');
        $t->stored_ok($B, $k, $data, '... stored under the key',
                      key_arn => $key->{Arn});
    } else {
        like($r->{json}{SSEKMSKeyId} // '', qr{^arn:aws:kms:.*:key/},
             '... under alias/aws/s3');
    }
    unlink "$d/down";
    $r = $t->s3('s3', 'cp', "s3://$B/$k", "$d/down");
    ok($r->{rc} == 0 && $t->slurp("$d/down") eq $data, '... s3 cp down');
}

# ---- s3api put-object / get-object / head-object ------------------------------------------

my $ctx = encode_base64('{"team":"storage"}', '');
$r = $t->s3(qw(s3api put-object --bucket), $B, qw(--key api/obj --body),
            $data_f, qw(--server-side-encryption aws:kms --ssekms-key-id),
            $key->{KeyId}, '--ssekms-encryption-context', $ctx,
            '--metadata', 'color=blue,Shape=round', '--content-type', 'text/x-test');
is($r->{rc}, 0, 's3api put-object with a key, a context and metadata')
    or diag $r->{err};
is($r->{json}{ServerSideEncryption}, 'aws:kms', '... answers aws:kms');
is($r->{json}{SSEKMSKeyId}, $key->{Arn}, '... and the key ARN');
like($r->{json}{ETag} // '', qr/^"[0-9a-f]{32}"$/, '... and an ETag');
$t->stored_ok($B, 'api/obj', $data, '... stored with the context',
              key_arn => $key->{Arn}, ctx => '{"team":"storage"}');
my $b = $t->backend_get($B, 'api/obj');
is($b->{headers}{'x-amz-meta-color'}, 'blue', 'user metadata reaches the backend');

$r = $t->s3(qw(s3api head-object --bucket), $B, qw(--key api/obj));
is($r->{json}{ContentLength}, length $data, 'head-object: the plaintext length');
is_deeply($r->{json}{Metadata}, { color => 'blue', shape => 'round' },
          'head-object: user metadata, no internal metadata');
is($r->{json}{ContentType}, 'text/x-test', 'head-object: Content-Type');
is($r->{json}{SSEKMSKeyId}, $key->{Arn}, 'head-object: the key ARN');

$r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key api/obj), "$d/got");
ok($r->{rc} == 0 && $t->slurp("$d/got") eq $data, 'get-object: same bytes');
is_deeply($r->{json}{Metadata}, { color => 'blue', shape => 'round' },
          'get-object: user metadata');

for my $rg (['65535-65536', 65535, 65536], ['0-0', 0, 0], ['-1', length($data) - 1],
            ['131072-', 131072], ['-65537', length($data) - 65537],
            ['196600-196612', 196600, 196612]) {
    my ($spec, $a, $z) = @$rg;
    $z //= length($data) - 1;
    unlink "$d/got";
    $r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key api/obj --range),
                "bytes=$spec", "$d/got");
    ok($r->{rc} == 0 && $t->slurp("$d/got") eq substr($data, $a, $z - $a + 1),
       "get-object --range bytes=$spec") or diag $r->{err};
    is($r->{json}{ContentRange}, "bytes $a-$z/" . length($data),
       "... ContentRange");
}
$r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key api/obj --range),
            'bytes=' . length($data) . '-', "$d/got");
like($r->{err}, qr/InvalidRange/, 'get-object --range past the end: InvalidRange');

$r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key api/obj --sse-customer-algorithm),
            'AES256', '--sse-customer-key', 'k' x 32, "$d/got");
like($r->{err}, qr/NotImplemented|InvalidArgument|BadRequest|400/,
     'get-object with SSE-C headers is refused');

# ---- 100 MiB ------------------------------------------------------------------------------

# the CLI goes multipart above 8 MiB (issue 4): a config raises the threshold
$t->spew('aws.conf', "[default]\ns3 =\n  multipart_threshold = 200MB\n");
my $big_f = $t->make_file('big', 100 * 1024 * 1024);
$r = $t->s3('s3', 'cp', $big_f, "s3://$B/big", '--sse', 'aws:kms',
            { env => { AWS_CONFIG_FILE => "$d/aws.conf" } });
is($r->{rc}, 0, 's3 cp up 100 MiB (one PUT)') or diag $r->{err};
unlink "$d/down";
$r = $t->s3('s3', 'cp', "s3://$B/big", "$d/down",
            { env => { AWS_CONFIG_FILE => "$d/aws.conf" } });
is($r->{rc}, 0, 's3 cp down 100 MiB') or diag $r->{err};
ok(-s "$d/down" == -s $big_f && $t->slurp("$d/down") eq $t->slurp($big_f),
   '100 MiB come back byte-identical');
{
    my $big = $t->slurp($big_f);
    my $bb = $t->backend_get($B, 'big');
    my @bad = $t->check_stored($bb->{body}, length $big);
    ok(!@bad, '100 MiB stored in section 3 format') or diag "@bad";
    # no 32-byte run of plaintext: the first, a middle and the last MiB
    my $M = 1024 * 1024;
    my $run = 0;
    for my $at (0, 50 * $M, 99 * $M) {
        $run ||= $t->plaintext_run(substr($big, $at, $M),
                                   substr($bb->{body}, $at, $M + 4096));
    }
    ok(!$run, '... no plaintext run in the stored bytes');
    my $mid = 50 * $M - 3;
    $r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key big --range),
                "bytes=$mid-" . ($mid + 9), "$d/got");
    ok($r->{rc} == 0 && $t->slurp("$d/got") eq substr($big, $mid, 10),
       'a range in the middle of 100 MiB');
}
$r = $t->s3(qw(s3api put-object --bucket), $B, qw(--key big2 --body), $big_f);
is($r->{rc}, 0, 's3api put-object 100 MiB') or diag $r->{err};
unlink "$d/down";
$r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key big2), "$d/down");
ok($r->{rc} == 0 && -s "$d/down" == -s $big_f
   && $t->slurp("$d/down") eq $t->slurp($big_f),
   's3api get-object 100 MiB byte-identical');
unlink "$d/down", $big_f;

# ---- listing, delete -------------------------------------------------------------------------

$r = $t->s3('s3', 'ls', "s3://$B/cp/");
like($r->{out}, qr{ 65537 65537\n}, 's3 ls shows the plaintext sizes');
like($r->{out}, qr{ 0 0\n}, '... an empty object too');
$r = $t->s3('s3', 'rm', "s3://$B/cp/1");
is($r->{rc}, 0, 's3 rm');
is($t->backend_get($B, 'cp/1')->{status}, 404, '... gone at the backend');
$r = $t->s3('s3', 'rm', "s3://$B/", '--recursive');
is($r->{rc}, 0, 's3 rm --recursive') or diag $r->{err};
$r = $t->s3('s3', 'rb', "s3://$B");
is($r->{rc}, 0, 's3 rb') or diag $r->{err};

$t->done;
