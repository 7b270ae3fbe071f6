# A 100 MiB copy through the gateway: the source (a multipart object) is
# never held whole; the worker's memory stays bounded while the copy
# streams, and the copy is byte-identical.

use strict; use warnings; use lib 't/lib'; use Test::More; use S3KMS::Test;
use List::Util qw(max);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time);

my $t = S3KMS::Test->new(name => 'gw-copy-big');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $B = 'copybig';
my $MiB = 1024 * 1024;
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

my $key = $t->aws(qw(kms create-key --description copy-big))->{json}{KeyMetadata};

$t->make_file('big.bin', 100 * $MiB);
my $f = $t->dir . '/big.bin';
$r = $t->s3('s3', 'cp', $f, "s3://$B/big");
is($r->{rc}, 0, 'a 100 MiB multipart source') or diag $r->{err};

sub rss { my @r = $t->worker_rss; return max(@r) // 0 }
my $before = rss();

my $t0 = time;
$r = $t->s3(qw(s3api copy-object --bucket), $B, '--key', 'big-copy',
            '--copy-source', "$B/big", '--server-side-encryption', 'aws:kms',
            '--ssekms-key-id', $key->{KeyId});
my $secs = time - $t0;
is($r->{rc}, 0, 'CopyObject of 100 MiB') or diag $r->{err};
my $after = rss();
diag sprintf("100 MiB copy: %.2f s; worker RSS %d KiB before, %d KiB after",
             $secs, $before, $after);
cmp_ok($after - $before, '<', 32 * 1024,
       'the worker did not hold the object (RSS grew < 32 MiB)');

$r = $t->s3('s3', 'cp', "s3://$B/big-copy", $t->dir . '/out.bin');
is($r->{rc}, 0, 'the copy downloads') or diag $r->{err};
is(sha256_hex($t->slurp($t->dir . '/out.bin')), sha256_hex($t->slurp($f)),
   '... byte-identical');
is($t->backend_get($B, 'big-copy', method => 'HEAD')->{headers}{'x-amz-meta-ssek-key'},
   $key->{Arn}, '... stored under the key the copy named');

$t->done;
