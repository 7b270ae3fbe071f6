# A 2 GiB PUT and GET through the gateway with nginx's memory measured:
# the workers' resident size stays flat (the body streams, a few frames at
# a time, never whole in memory or on disk).  The backend is s3rver, which
# streams to and from its disk.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA;
use List::Util qw(max);
use Time::HiRes qw(time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-big');
$t->start_redis;
$t->start_s3rver;
$t->start_nginx;

my $B = 'bigbkt';
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

my $MiB = 1024 * 1024;
# under AddressSanitizer (make test-asan) a smaller object, and its
# quarantine makes resident sizes meaningless
my $ASAN = $ENV{S3KMS_ASAN};
my $SIZE = ($ASAN ? 256 : 2048) * $MiB;
my $block = $t->bytes($MiB, 'big');

# warm up: the workers' pools and buffers as a transfer leaves them
for my $i (1 .. 4) {
    my $d = $t->bytes(3 * $MiB, "warm$i");
    $t->s3_request(method => 'PUT', bucket => $B, key => "warm$i", body => $d,
                   payload => 'unsigned');
    $t->s3_request(method => 'GET', bucket => $B, key => "warm$i");
}

sub rss { my @r = $t->worker_rss; return (max(@r) // 0, @r) }
my ($before, @before) = rss();
ok($before > 0, "workers' RSS before: @before KiB");

# the body: 1 MiB blocks, each with its number, so none repeats
sub generator {
    my ($sha, $peak) = @_;
    my $i = 0;
    return sub {
        return undef if $i * $MiB >= $SIZE;
        my $c = $block;
        substr($c, 0, 8) = pack 'Q>', $i;
        $i++;
        $sha->add($c);
        $$peak = max($$peak, (rss())[0]) if $i % 256 == 0;
        return $c;
    };
}

my $put_sha = Digest::SHA->new(256);
my $peak_put = 0;
my $t0 = time;
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'two-gib',
                    payload => 'unsigned', content_length => $SIZE,
                    body_gen => generator($put_sha, \$peak_put),
                    timeout => 300);
my $put_s = time - $t0;
is($r->{status}, 200, sprintf('PUT %d MiB (%.1f s, %.0f MB/s)', $SIZE / $MiB,
                              $put_s, $SIZE / $put_s / 1e6)) or diag $r->{body};
my ($after_put, @after_put) = rss();

$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'two-gib');
is($r->{headers}{'content-length'}, $SIZE, 'HEAD: the plaintext length');

my $get_sha = Digest::SHA->new(256);
my $peak_get = 0;
my $n = 0;
$t0 = time;
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'two-gib',
                    timeout => 300,
                    body_sink => sub {
                        $get_sha->add($_[0]);
                        $n += length $_[0];
                        $peak_get = max($peak_get, (rss())[0])
                            if ($n >> 28) != (($n - length $_[0]) >> 28);
                    });
my $get_s = time - $t0;
ok($r->{status} == 200 && !$r->{short} && $r->{received} == $SIZE,
   sprintf('GET %d MiB (%.1f s, %.0f MB/s)', $SIZE / $MiB, $get_s,
           $SIZE / $get_s / 1e6))
    or diag "status $r->{status}, $r->{received} bytes";
is($get_sha->hexdigest, $put_sha->hexdigest, 'the same bytes came back');

my ($after, @after) = rss();
diag sprintf("worker RSS (KiB): before %s; peak during PUT %d, after PUT %s; "
             . "peak during GET %d, after GET %s",
             "@before", $peak_put, "@after_put", $peak_get, "@after");
SKIP: {
    skip 'resident sizes under AddressSanitizer', 3 if $ASAN;
    cmp_ok($peak_put - $before, '<', 32 * 1024,
           "RSS during the PUT within 32 MiB of before (+"
           . ($peak_put - $before) . " KiB)");
    cmp_ok($peak_get - $before, '<', 32 * 1024,
           "RSS during the GET within 32 MiB of before (+"
           . ($peak_get - $before) . " KiB)");
    cmp_ok($after - $before, '<', 8 * 1024,
           "RSS after within 8 MiB of before (+" . ($after - $before)
           . " KiB)");
}

# the stored object: the right length, our header
my $stored = $t->backend_get($B, 'two-gib', method => 'HEAD');
my $frames = $SIZE / 65536;
is($stored->{headers}{'content-length'}, 72 + $SIZE + 16 * $frames,
   'stored length 72 + L + 16n');
ok(!grep(/client_body_temp/, glob($t->dir . '/client_body_temp/*')),
   'no request body in a temporary file');

$t->done;
