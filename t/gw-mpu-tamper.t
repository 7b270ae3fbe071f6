# Multipart objects against someone with write access to the backend, and
# against a lost index: a part uploaded twice (the second wins, each upload
# had its own salt, as the backend saw them); the object rewritten at the
# backend without a part, with parts reordered, or with an older upload of
# a part is refused on GET, and so is an index rewritten to match it (the
# manifest MAC); Redis flushed between PUT and GET: the part table is
# rebuilt from the segment headers, the object served manifest-unverified
# (or refused: s3_kms_unverified_objects refuse) and the table written back.
#
# nginx reaches moto through a tap that keeps what nginx sent: the bytes of
# a part's first upload, as the backend got them.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-mpu-tamper');
my $d = $t->dir;
$t->start_redis;
my $moto = $t->start_moto;

# the tap: every connection relayed, what nginx sends kept in tap/N.req
mkdir "$d/tap";
$t->spew('tap.pl', <<'PL');
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
my ($port, $to, $dir) = @ARGV;
$SIG{CHLD} = 'IGNORE';
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                              Listen => 128, ReuseAddr => 1) or die $!;
my $n = 0;
while (1) {
    my $c = $l->accept or next;
    $n++;
    my $pid = fork;
    if (!defined $pid || $pid) { close $c; next }
    close $l;
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to)
        or POSIX::_exit(1);
    open my $log, '>:raw', sprintf('%s/%08d.req', $dir, $n) or POSIX::_exit(1);
    my $sel = IO::Select->new($c, $u);
    LOOP: while (1) {
        for my $h ($sel->can_read) {
            my $got = sysread($h, my $buf, 1 << 16);
            last LOOP unless $got;
            print $log $buf if $h == $c;
            my $o = $h == $c ? $u : $c;
            for (my $off = 0; $off < length $buf; ) {
                my $w = syswrite($o, $buf, length($buf) - $off, $off);
                last LOOP unless $w;
                $off += $w;
            }
        }
    }
    close $log;
    POSIX::_exit(0);
}
PL
my $tap = S3KMS::Test::free_port();
$t->spawn('tap', ['perl', "$d/tap.pl", $tap, $moto, "$d/tap"]);
$t->wait_port($tap) or die 'the tap did not start';
$t->start_nginx(vars => { BACKEND => "http://127.0.0.1:$tap" });

my $B = 'tamperbkt';
my $M = 1024 * 1024;
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');
my $key = $t->aws(qw(kms create-key --description gw-mpu-tamper))->{json}{KeyMetadata};

sub req { $t->s3_request(bucket => $B, @_) }
sub get { req(method => 'GET', key => $_[0], @_[1 .. $#_]) }
sub redis { $t->redis_cmd(@_) }

sub create {
    my ($k) = @_;
    my $r = req(method => 'POST', key => $k, query => { uploads => '' },
                headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                             'x-amz-server-side-encryption-aws-kms-key-id'
                             => $key->{KeyId} });
    my ($id) = $r->{body} =~ m{<UploadId>([^<]+)</UploadId>};
    return $id;
}

sub part {
    my ($k, $id, $n, $data) = @_;
    my $r = req(method => 'PUT', key => $k, body => $data,
                query => { partNumber => $n, uploadId => $id });
    $r->{status} == 200 or diag "UploadPart $n: $r->{status} $r->{body}";
    return $r->{headers}{etag};
}

sub complete {
    my ($k, $id, @parts) = @_;
    my $xml = '<CompleteMultipartUpload>'
            . join('', map { "<Part><PartNumber>$_->[0]</PartNumber>"
                             . "<ETag>$_->[1]</ETag></Part>" } @parts)
            . '</CompleteMultipartUpload>';
    return req(method => 'POST', key => $k, query => { uploadId => $id },
               body => $xml);
}

# an object of three parts through the gateway: its plaintext
sub mpu_object {
    my ($k) = @_;
    my @p = ($t->bytes(5 * $M, "$k-1"), $t->bytes(5 * $M + 1, "$k-2"),
             $t->bytes(300000, "$k-3"));
    my $id = create($k);
    my @e = map { part($k, $id, $_ + 1, $p[$_]) } 0 .. 2;
    my $r = complete($k, $id, map { [$_ + 1, $e[$_]] } 0 .. 2);
    $r->{status} == 200 or diag "Complete $k: $r->{status} $r->{body}";
    return join '', @p;
}

# a stored multipart object's segments: [p, L, salt, bytes]
sub segments {
    my ($stored) = @_;
    my (@s, $off);
    for ($off = 0; $off + 72 <= length $stored; ) {
        my (undef, undef, undef, $k, undef, $len, $p, undef, $salt)
            = unpack 'a4 C C C C Q> N N a16', substr($stored, $off, 72);
        my $n = $len == 0 ? 1 : int(($len + (1 << $k) - 1) / (1 << $k));
        my $sl = 72 + $len + 16 * $n;
        push @s, [$p, $len, $salt, substr($stored, $off, $sl)];
        $off += $sl;
    }
    return @s;
}

sub meta_of {
    my ($b) = @_;
    return { map { $_ => $b->{headers}{$_} }
             grep { /^x-amz-meta-/ } keys %{$b->{headers}} };
}

# the object rewritten at the backend, its metadata kept
sub rewrite {
    my ($k, $body, $meta) = @_;
    my $w = $t->backend_put($B, $k, $body, $meta);
    $w->{status} == 200 or diag "backend PUT $k: $w->{status}";
}

# GET past the SlowDown the gateway answers once when the backend's object
# is not the one indexed
sub get_past_change {
    my ($k, %o) = @_;
    my $r = get($k, %o);
    for (1 .. 5) {
        last unless $r->{status} == 503 && $r->{body} =~ /SlowDown/;
        sleep 0.1;
        $r = get($k, %o);
    }
    return $r;
}

# what nginx sent the backend: the body of the first PUT matching $re
sub tapped {
    my ($re) = @_;
    for my $f (sort glob("$d/tap/*.req")) {
        my $req = $t->slurp($f);
        next unless $req =~ $re;
        my ($head, $body) = split /\r\n\r\n/, $req, 2;
        my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
        return substr($body, 0, $len);
    }
    return undef;
}

# ---- a part uploaded twice ------------------------------------------------------------------

my @p = ($t->bytes(5 * $M, 'tw-1'), $t->bytes(5 * $M + 3, 'tw-2a'),
         $t->bytes(5 * $M + 9, 'tw-2b'), $t->bytes(70000, 'tw-3'));
my $id = create('twice');
ok($id, 'an upload');
my $e1 = part('twice', $id, 1, $p[0]);
part('twice', $id, 2, $p[1]);
my $e2 = part('twice', $id, 2, $p[2]);
my $e3 = part('twice', $id, 3, $p[3]);
my $old2 = tapped(qr{^PUT /$B/twice\?partNumber=2&uploadId=});
ok(defined $old2 && length $old2 == 72 + length($p[1]) + 16 * 81,
   'the first upload of part 2, as the backend got it');
$r = complete('twice', $id, [1, $e1], [2, $e2], [3, $e3]);
is($r->{status}, 200, 'Complete with the second upload of part 2');
my $want = $p[0] . $p[2] . $p[3];
$r = get('twice');
ok($r->{status} == 200 && $r->{body} eq $want,
   'the second upload wins: the object decrypts to it');

my $b = $t->backend_get($B, 'twice');
my $meta = meta_of($b);
my @seg = segments($b->{body});
is(scalar @seg, 3, 'three segments at the backend');
my ($op, $olen, $osalt) = (unpack('a4 C C C C Q> N N a16', $old2))[6, 5, 8];
is_deeply([$op, $olen], [2, length $p[1]], 'the first upload was part 2\'s segment');
ok($seg[1][0] == 2 && $seg[1][1] == length $p[2], 'the object holds the second');
isnt($osalt, $seg[1][2], 'the two uploads of part 2 used different salts');
ok(!$t->plaintext_run(substr($p[1], 0, 1 << 20), $old2),
   'the first upload was ciphertext too');

# ---- rewritten at the backend ------------------------------------------------------------------

# an older upload of part 2 in place of the one completed
rewrite('twice', $seg[0][3] . $old2 . $seg[2][3], $meta);
$r = get('twice');
$t->is_s3_error($r, 503, 'SlowDown',
                'an older upload of a part put back at the backend: SlowDown, once');
$r = get_past_change('twice');
$t->is_s3_error($r, 500, 'InternalError', '... then refused on GET');
like($r->{body}, qr{<Message>The object cannot be decrypted\.</Message>},
     '... "The object cannot be decrypted."');
$r = get('twice', headers => { range => 'bytes=0-99' });
$t->is_s3_error($r, 500, 'InternalError', '... a range in the untouched part 1 too');
$r = req(method => 'HEAD', key => 'twice');
is($r->{status}, 500, '... and HEAD');
like($t->error_log, qr{tamperbkt/twice: the object was changed at the backend since its part table was recorded; refused},
     '... and it is logged');

# the index rewritten to describe what the backend now holds: the MAC
my $nb = $t->backend_get($B, 'twice');
my $ix = { @{ redis('HGETALL', "ssek:obj:{$B}:twice") } };
my ($table, $off) = ('', 0);
for my $s ($seg[0][3], $old2, $seg[2][3]) {
    $table .= pack('Q>', $off) . substr($s, 0, 72);
    $off += length $s;
}
redis('HSET', "ssek:obj:{$B}:twice", etag => $nb->{headers}{etag},
      parts => $table, len => 5 * $M + length($p[1]) + 70000, stored => $off,
      stale => '');
$r = get('twice');
$t->is_s3_error($r, 500, 'InternalError',
                'the index rewritten to match the older part: refused by the manifest MAC');
like($t->error_log, qr{tamperbkt/twice: the part table does not match its manifest MAC},
     '... logged');
$r = get('twice', headers => { range => 'bytes=5242880-5242900' });
$t->is_s3_error($r, 500, 'InternalError', '... a range in the older part too');

# a part dropped, parts reordered
my $plain = mpu_object('dropped');
$b = $t->backend_get($B, 'dropped');
my @ds = segments($b->{body});
ok(get('dropped')->{body} eq $plain, 'another object of three parts reads back');
rewrite('dropped', $ds[0][3] . $ds[2][3], meta_of($b));
$r = get_past_change('dropped');
$t->is_s3_error($r, 500, 'InternalError',
                'the object rewritten without part 2: refused on GET');

$plain = mpu_object('reordered');
$b = $t->backend_get($B, 'reordered');
my @rs = segments($b->{body});
rewrite('reordered', $rs[0][3] . $rs[2][3] . $rs[1][3], meta_of($b));
$r = get_past_change('reordered');
$t->is_s3_error($r, 500, 'InternalError',
                'the object rewritten with parts 2 and 3 swapped: refused on GET');

# the index's own fields: the MAC and the upload id it covers
$plain = mpu_object('genuine');
ok(get('genuine')->{body} eq $plain, 'a third object reads back');
my $mac = redis('HGET', "ssek:obj:{$B}:genuine", 'mac');
my $bad = $mac;
substr($bad, 7, 1) ^= "\x01";
redis('HSET', "ssek:obj:{$B}:genuine", mac => $bad);
$t->is_s3_error(get('genuine'), 500, 'InternalError', 'a changed manifest MAC: refused');
redis('HSET', "ssek:obj:{$B}:genuine", mac => $mac);
my $up = redis('HGET', "ssek:obj:{$B}:genuine", 'upload');
redis('HSET', "ssek:obj:{$B}:genuine", upload => "x$up");
$t->is_s3_error(get('genuine'), 500, 'InternalError', 'another upload id: refused');
redis('HSET', "ssek:obj:{$B}:genuine", upload => $up);
ok(get('genuine')->{body} eq $plain, 'the entry put right: reads back');

# ---- Redis flushed between PUT and GET --------------------------------------------------------

my $flush = mpu_object('flushed');
my $fl = length $flush;
my $tool = "$S3KMS::Test::TOP/build/tools/s3kms-keystore";
my $redis_at = '127.0.0.1:' . $t->redis_port;
$r = $t->run([$tool, 'export', '--redis', $redis_at, "$d/ks.backup"]);
is($r->{rc}, 0, 'the key store exported') or diag $r->{err};
$t->stop_nginx;
redis('FLUSHALL');
is(redis('DBSIZE'), 0, 'FLUSHALL');
$r = $t->run([$tool, 'import', '--redis', $redis_at, "$d/ks.backup"]);
is($r->{rc}, 0, 'the key store imported') or diag $r->{err};
$t->start_nginx(keep_conf => 1);

$r = get('flushed', headers => { range => 'bytes=5242000-5243999' });
ok($r->{status} == 206 && $r->{body} eq substr($flush, 5242000, 2000),
   'index lost: a ranged GET across parts 1 and 2 succeeds')
    or diag "$r->{status} $r->{body}";
like($t->error_log, qr{tamperbkt/flushed: part table rebuilt from 3 segment headers; the object is manifest-unverified},
     '... the table rebuilt from the segment headers, logged');
like($t->error_log, qr{tamperbkt/flushed: served manifest-unverified},
     '... served as manifest-unverified, logged');
sleep 0.2;
$ix = { @{ redis('HGETALL', "ssek:obj:{$B}:flushed") || [] } };
ok(length($ix->{parts} // '') == 3 * 80 && $ix->{nparts} == 3
   && $ix->{len} == $fl && $ix->{unverified} eq '1' && ($ix->{mac} // '') eq '',
   'the part table is back in Redis, marked unverified');
$r = get('flushed');
ok($r->{status} == 200 && $r->{body} eq $flush, 'the whole GET from it');
$r = get('flushed', query => { partNumber => 3 });
ok($r->{status} == 206 && $r->{body} eq substr($flush, 10 * $M + 1),
   '... ?partNumber=3');

# the index lost again: a HEAD and a whole GET first
redis('DEL', "ssek:obj:{$B}:flushed");
$r = req(method => 'HEAD', key => 'flushed');
ok($r->{status} == 200 && $r->{headers}{'content-length'} == $fl,
   'index lost: HEAD answers the plaintext length');
$r = $t->s3('s3', 'cp', "s3://$B/flushed", "$d/flushed.out");
ok($r->{rc} == 0 && $t->slurp("$d/flushed.out") eq $flush,
   '... aws s3 cp (HEAD, then GETs) byte-identical') or diag $r->{err};
ok(redis('EXISTS', "ssek:obj:{$B}:flushed"), '... and the table is back');

# a part of another object spliced in: its key commitment refuses it
$b = $t->backend_get($B, 'flushed');
my @fs = segments($b->{body});
my @gs = segments($t->backend_get($B, 'genuine')->{body});
rewrite('flushed', $fs[0][3] . $gs[1][3] . $fs[2][3], meta_of($b));
redis('DEL', "ssek:obj:{$B}:flushed");
$r = get('flushed');
$t->is_s3_error($r, 500, 'InternalError',
                'index lost, a part of another object spliced in: refused');
like($t->error_log, qr{tamperbkt/flushed: a segment header at the backend is not of the object's data key},
     '... by the segment\'s key commitment');
ok(!redis('EXISTS', "ssek:obj:{$B}:flushed"), '... and nothing written back');

# ---- s3_kms_unverified_objects refuse ------------------------------------------------------------

my $kept = mpu_object('kept');
my $two = mpu_object('second');
$t->stop_nginx;
$t->nginx_conf(vars => { BACKEND => "http://127.0.0.1:$tap" },
               gateway => '            s3_kms_unverified_objects refuse;');
$t->start_nginx(keep_conf => 1);
ok(get('kept')->{body} eq $kept,
   's3_kms_unverified_objects refuse: an object with its manifest reads back');
redis('DEL', "ssek:obj:{$B}:second");
$r = get('second');
$t->is_s3_error($r, 500, 'InternalError', '... one without is refused');
like($r->{body}, qr{<Message>The part table of the object could not be verified\.</Message>},
     '... saying why');
$r = req(method => 'HEAD', key => 'second');
is($r->{status}, 500, '... HEAD too');
$t->stop_nginx;
$t->nginx_conf(vars => { BACKEND => "http://127.0.0.1:$tap" });
$t->start_nginx(keep_conf => 1);
ok(get('second')->{body} eq $two, 'served again under "serve", the default');

$t->allow_log(qr/upstream prematurely closed/);
$t->done;
