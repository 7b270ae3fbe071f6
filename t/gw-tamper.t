# What someone with write access to the backend can do, and outages: a
# tampered frame, header or length, a swapped object, objects written
# before the gateway, Redis stopped, the backend stopped mid-GET and down.
# A failure before the first body byte gets S3's XML; after it the answer
# ends short and the connection closes; never an unauthenticated byte.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-tamper');
$t->start_redis;
$t->start_moto;
$t->start_nginx;
$t->allow_log(qr/upstream prematurely closed/);

my $B = 'tamperbkt';
my $F = 65536;
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

sub put { $t->s3_request(method => 'PUT', bucket => $B, key => $_[0],
                         body => $_[1], @_[2 .. $#_]) }
sub get { $t->s3_request(method => 'GET', bucket => $B, key => $_[0],
                         @_[1 .. $#_]) }

# the ssek metadata of a backend answer, as headers to store again
sub meta_of {
    my ($b) = @_;
    return { map { $_ => $b->{headers}{$_} }
             grep { /^x-amz-meta-/ } keys %{$b->{headers}} };
}

# rewrites an object at the backend with its metadata kept
sub rewrite {
    my ($k, $body, $meta) = @_;
    my $w = $t->backend_put($B, $k, $body, $meta);
    $w->{status} == 200 or diag "backend PUT $k: $w->{status} $w->{body}";
}

# Retries a GET past the SlowDown the gateway answers once when the
# object changed at the backend since it was indexed.
sub get_past_change {
    my ($k, %o) = @_;
    my $r = get($k, %o);
    for (1 .. 5) {
        last unless $r->{status} == 503 && $r->{body} =~ /SlowDown/;
        sleep 0.1;          # the index entry's removal is on its way
        $r = get($k, %o);
    }
    return $r;
}

my $L = 3 * $F + 5;
my $plain = $t->bytes($L, 'tamper');

# ---- a tampered frame ----------------------------------------------------------------

$r = put('frame', $plain);
is($r->{status}, 200, 'PUT a 4-frame object');
my $b = $t->backend_get($B, 'frame');
my $stored = $b->{body};
my $meta = meta_of($b);
my $bad = $stored;
substr($bad, 72 + 2 * ($F + 16) + 100, 1) ^= "\x01";
rewrite('frame', $bad, $meta);

$r = get('frame');
$t->is_s3_error($r, 503, 'SlowDown',
                'the object changed since it was indexed: SlowDown, once');
$r = get('frame');
is($r->{status}, 200, 'a frame tampered at the backend: 200 ...');
ok($r->{short} && $r->{eof}, '... cut short, the connection closed')
    or diag "got " . length($r->{body}) . " of $r->{headers}{'content-length'}";
ok(length $r->{body} <= 2 * $F
   && $r->{body} eq substr($plain, 0, length $r->{body}),
   '... and only the authenticated frames before it came: '
   . length($r->{body}) . ' bytes');
like($t->error_log, qr/tamperbkt\/frame: .*cut short/, '... and it is logged');

$r = get('frame', headers => { range => 'bytes=140000-140010' });
$t->is_s3_error($r, 500, 'InternalError',
                'a range in the tampered frame: S3 XML before any byte');
$r = get('frame', headers => { range => 'bytes=0-99' });
ok($r->{status} == 206 && $r->{body} eq substr($plain, 0, 100),
   'a range before the tampered frame reads fine');

# the last frame cut off (a truncated object, with its length unchanged)
rewrite('frame', substr($stored, 0, length($stored) - 21), $meta);
$r = get_past_change('frame');
ok($r->{status} == 200 && $r->{short}
   && $r->{body} eq substr($plain, 0, length $r->{body})
   && length $r->{body} <= 3 * $F, 'a truncated object: cut short, no byte of the last frame');

# frames swapped
my $swapped = $stored;
my $f0 = substr($stored, 72, $F + 16);
my $f1 = substr($stored, 72 + $F + 16, $F + 16);
substr($swapped, 72, $F + 16) = $f1;
substr($swapped, 72 + $F + 16, $F + 16) = $f0;
rewrite('frame', $swapped, $meta);
$r = get_past_change('frame');
$t->is_s3_error($r, 500, 'InternalError',
                'frames swapped: the first frame fails, S3 XML');

# the header: a changed salt fails the commitment before any byte
my $hsalt = $stored;
substr($hsalt, 30, 1) ^= "\x80";
rewrite('frame', $hsalt, $meta);
$r = get_past_change('frame');
$t->is_s3_error($r, 500, 'InternalError', 'a changed salt: S3 XML');

# the plaintext length in the metadata shortened: refused, not truncated
rewrite('frame', $stored, { %$meta, 'x-amz-meta-ssek-len' => $L - 1 });
$r = get_past_change('frame');
$t->is_s3_error($r, 500, 'InternalError',
                'a shortened ssek-len: refused, not a silently shorter object');

# the header's length changed with the metadata's: the frames refuse it
my $hlen = $stored;
substr($hlen, 8, 8) = pack('Q>', $L - 1);
rewrite('frame', $hlen, { %$meta, 'x-amz-meta-ssek-len' => $L - 1 });
$r = get_past_change('frame');
$t->is_s3_error($r, 500, 'InternalError',
                'the header and metadata lengths both changed: S3 XML');

# the original again: it reads fine
rewrite('frame', $stored, $meta);
$r = get_past_change('frame');
ok($r->{status} == 200 && $r->{body} eq $plain, 'restored: reads fine');

# ---- a swapped object ------------------------------------------------------------------

my $other = $t->bytes(100000, 'other');
$r = put('a', $other);
$r = put('b', $plain);
my $ba = $t->backend_get($B, 'a');
rewrite('b', $ba->{body}, meta_of($ba));
$r = get_past_change('b');
ok($r->{status} >= 400 && $r->{body} =~ m{^<\?xml.*<Error><Code>}s
   && index($r->{body}, substr($other, 0, 32)) < 0,
   "a's object copied over b: b refuses, S3 XML, no byte of a")
    or diag "$r->{status} " . substr($r->{body}, 0, 300);
like($r->{body}, qr{<Code>KMS\.InvalidCiphertextException</Code>},
     '... the data key does not open under b\'s name');
rewrite('c', $ba->{body}, meta_of($ba));
$r = get('c');
ok($r->{status} >= 400 && $r->{body} =~ m{<Error><Code>},
   "a's object copied to a new name c: refused (probe)");
$r = get('a');
ok($r->{status} == 200 && $r->{body} eq $other, 'a itself still reads');

# ---- objects written before the gateway ----------------------------------------------

my $legacy = $t->bytes(150000, 'legacy');
rewrite('legacy', $legacy, { 'x-amz-meta-owner' => 'before' });
$r = get('legacy');
ok($r->{status} == 200 && $r->{body} eq $legacy,
   'an object without ssek metadata is served as it is');
is($r->{headers}{'x-amz-meta-owner'}, 'before', '... with its metadata');
$r = get('legacy', headers => { range => 'bytes=70000-70009' });
ok($r->{status} == 206 && $r->{body} eq substr($legacy, 70000, 10),
   '... ranges too');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'legacy');
ok($r->{status} == 200 && $r->{headers}{'content-length'} == 150000,
   '... and HEAD');

# our ciphertext without its metadata (stripped, or the remains of an
# aborted PUT a backend kept): refused, never served raw
rewrite('stripped', $stored, { 'x-amz-meta-owner' => 'x' });
$r = get('stripped');
$t->is_s3_error($r, 500, 'InternalError',
                'ciphertext without its ssek metadata: refused, not served raw');

# ---- Redis stopped ----------------------------------------------------------------------

$t->stop_redis;
sleep 0.5;
$r = put('redis-down', $plain);
$t->is_s3_error($r, 503, 'ServiceUnavailable', 'Redis stopped: PUT 503');
$r = get('a');
$t->is_s3_error($r, 503, 'ServiceUnavailable', 'Redis stopped: GET 503');
is($t->backend_get($B, 'redis-down')->{status}, 404, '... nothing stored');
$t->start_redis;
my $ok = 0;
my $end = time + 20;
while (time < $end) {
    $r = get('a');
    if ($r->{status} == 200) { $ok = 1; last }
    sleep 0.2;
}
ok($ok && $r->{body} eq $other, 'Redis back: GET works again');
$r = put('redis-back', $plain);
is($r->{status}, 200, '... and PUT');

# ---- the backend stopped mid-GET ------------------------------------------------------

my $huge = $t->bytes(40 * 1024 * 1024, 'huge');
$r = put('huge', $huge);
is($r->{status}, 200, 'PUT 40 MiB');
$r = get('huge', pause_at => 1024 * 1024, timeout => 60,
         on_pause => sub { $t->stop_backend; sleep 0.5 });
is($r->{status}, 200, 'the backend stopped mid-GET: 200 ...');
ok($r->{short} && $r->{eof}, '... cut short, the connection closed')
    or diag length($r->{body});
ok($r->{body} eq substr($huge, 0, length $r->{body}),
   '... and every byte that came is right: ' . length($r->{body}));

# ---- the backend down ----------------------------------------------------------------

$r = put('down', $plain);
$t->is_s3_error($r, 503, 'ServiceUnavailable', 'the backend down: PUT 503');
$r = get('a');
$t->is_s3_error($r, 503, 'ServiceUnavailable', 'the backend down: GET 503');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'a');
is($r->{status}, 503, 'the backend down: HEAD 503');
$r = $t->s3_request(method => 'GET', path => '/');
$t->is_s3_error($r, 503, 'ServiceUnavailable', 'the backend down: ListBuckets 503');

$t->done;
