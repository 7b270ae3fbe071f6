# Multipart uploads by real clients through the gateway: the aws CLI (s3 cp
# of 100 MiB and of 8 MiB + 1 B, s3 sync, s3 ls), boto3's managed transfer
# over HTTPS with its default checksums (5 MiB parts, 4 at a time), rclone
# and s3cmd with small multipart thresholds.  Objects come back
# byte-identical, through downloads whose ranges cross part boundaries;
# listings show plaintext sizes; the backend holds one segment per part.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-mpu-clients');
$t->start_redis;
$t->start_moto;
$t->start_nginx(tls => 1);

my $d = $t->dir;
my $M = 1024 * 1024;
my $B = 'mpuclients';

my $key = $t->aws(qw(kms create-key --description gw-mpu-clients))->{json}{KeyMetadata};

# the segments of a stored object: [p, L] each, or () if not the format
sub segments {
    my ($stored) = @_;
    my (@s, $off);
    for ($off = 0; $off + 72 <= length $stored; ) {
        my ($magic, undef, undef, $k, undef, $len, $p)
            = unpack 'a4 C C C C Q> N', substr($stored, $off, 72);
        return () unless $magic eq 'SSEK';
        my $n = $len == 0 ? 1 : int(($len + (1 << $k) - 1) / (1 << $k));
        push @s, [$p, $len];
        $off += 72 + $len + 16 * $n;
    }
    return $off == length $stored ? @s : ();
}

sub parts_ok {
    my ($bucket, $k, @lens) = @_;
    my $b = $t->backend_get($bucket, $k);
    my @s = segments($b->{body});
    is_deeply(\@s, [map { [$_ + 1, $lens[$_]] } 0 .. $#lens],
              "$k: stored as " . @lens . ' segments, p = 1.. and plaintext L')
        or diag explain \@s;
    ok(!exists $b->{headers}{'x-amz-meta-ssek-len'}
       && ($b->{headers}{'x-amz-meta-ssek-v'} // '') eq '1',
       "$k: multipart metadata");
}

# ---- the aws CLI --------------------------------------------------------------------------

# downloads in 7 MB ranges: across the 8 MiB parts
$t->spew('aws.conf', "[default]\ns3 =\n  multipart_chunksize = 7MB\n");
my %cfg = (env => { AWS_CONFIG_FILE => "$d/aws.conf" });

my $r = $t->s3('s3', 'mb', "s3://$B");
is($r->{rc}, 0, 's3 mb') or diag $r->{err};

my $big = $t->make_file('big', 100 * $M);
my $t0 = time;
$r = $t->s3('s3', 'cp', $big, "s3://$B/cli/big", '--sse', 'aws:kms',
            '--sse-kms-key-id', $key->{KeyId});
is($r->{rc}, 0, 'aws s3 cp up, 100 MiB: multipart, 8 MiB parts') or diag $r->{err};
my $up = time - $t0;
parts_ok($B, 'cli/big', (8 * $M) x 12, 4 * $M);
$t0 = time;
$r = $t->s3('s3', 'cp', "s3://$B/cli/big", "$d/big.out", \%cfg);
is($r->{rc}, 0, 'aws s3 cp down in 7 MB ranges') or diag $r->{err};
diag sprintf 'aws s3 cp of 100 MiB through the gateway (moto behind it): '
           . 'up %.1f s, down %.1f s', $up, time - $t0;
ok(-s "$d/big.out" == 100 * $M && $t->slurp("$d/big.out") eq $t->slurp($big),
   '100 MiB come back byte-identical');
unlink "$d/big.out";
$r = $t->s3(qw(s3api head-object --bucket), $B, qw(--key cli/big));
is($r->{json}{ContentLength}, 100 * $M, 'head-object: the plaintext length');
is($r->{json}{SSEKMSKeyId}, $key->{Arn}, 'head-object: the key ARN');
$r = $t->s3(qw(s3api head-object --bucket), $B, qw(--key cli/big --part-number 13));
ok($r->{json}{ContentLength} == 4 * $M && $r->{json}{PartsCount} == 13,
   'head-object --part-number 13: the last part\'s length, 13 parts')
    or diag $r->{out}, $r->{err};
{
    my $a = 8 * $M - 5;
    $r = $t->s3(qw(s3api get-object --bucket), $B, qw(--key cli/big --range),
                "bytes=$a-" . ($a + 9), "$d/range.out");
    open my $f, '<:raw', $big or die;
    seek $f, $a, 0;
    read $f, my $want, 10;
    ok($r->{rc} == 0 && $t->slurp("$d/range.out") eq $want,
       'get-object --range across parts 1 and 2');
}
unlink $big;

my $odd = $t->make_file('odd', 8 * $M + 1);
$r = $t->s3('s3', 'cp', $odd, "s3://$B/cli/odd");
is($r->{rc}, 0, 'aws s3 cp up, 8 MiB + 1 B (SSE-S3 by default)') or diag $r->{err};
parts_ok($B, 'cli/odd', 8 * $M, 1);
$r = $t->s3('s3', 'cp', "s3://$B/cli/odd", "$d/odd.out", \%cfg);
ok($r->{rc} == 0 && $t->slurp("$d/odd.out") eq $t->slurp($odd),
   '... and down, byte-identical') or diag $r->{err};

mkdir "$d/tree";
mkdir "$d/tree/sub";
my %tree = ('a.txt' => 10, 'sub/b.bin' => 70000, 'sub/c.bin' => 9 * $M + 3,
            'd.bin' => 8 * $M + 1);
$t->make_file("tree/$_", $tree{$_}) for keys %tree;
# an hour old: sync compares the files' times with LastModified, which has
# whole seconds (a file written in the second of its upload looks newer)
utime time - 3600, time - 3600, map { "$d/tree/$_" } keys %tree;
$r = $t->s3('s3', 'sync', "$d/tree", "s3://$B/tree");
is($r->{rc}, 0, 'aws s3 sync up a tree (two files multipart)') or diag $r->{err};
$r = $t->s3('s3', 'sync', "$d/tree", "s3://$B/tree");
ok($r->{rc} == 0 && $r->{out} !~ /upload:/, 'sync again: nothing to upload')
    or diag $r->{out};
$r = $t->s3('s3', 'ls', '--recursive', "s3://$B/tree/");
for my $f (sort keys %tree) {
    like($r->{out}, qr{\s$tree{$f} tree/\Q$f\E\n}, "s3 ls: $f, $tree{$f} bytes");
}
$r = $t->s3('s3', 'sync', "s3://$B/tree", "$d/tree.out", \%cfg);
is($r->{rc}, 0, 'aws s3 sync down') or diag $r->{err};
ok(!grep({ $t->slurp("$d/tree/$_") ne $t->slurp("$d/tree.out/$_") } keys %tree),
   '... every file byte-identical');
$r = $t->s3('s3', 'ls', "s3://$B/cli/");
like($r->{out}, qr{\s104857600 big\n}, 's3 ls: 100 MiB, the plaintext size');
like($r->{out}, qr{\s8388609 odd\n}, 's3 ls: 8 MiB + 1 B');

# ---- boto3's managed transfer, HTTPS ---------------------------------------------------------

my $boto = $t->make_file('boto', 23 * $M + 123);
$t->spew('boto.py', <<'PY');
import sys, json
import boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig

endpoint, ca, bucket, path, out, key_arn = sys.argv[1:7]
M = 1024 * 1024
res = []

def ok(cond, name, info=''):
    res.append({'ok': bool(cond), 'name': name, 'info': str(info)[:400]})

s3 = boto3.client('s3', endpoint_url=endpoint, verify=ca,
                  config=Config(s3={'addressing_style': 'path'},
                                retries={'max_attempts': 1,
                                         'mode': 'standard'}))
with open(path, 'rb') as f:
    data = f.read()
up = TransferConfig(multipart_threshold=5 * M, multipart_chunksize=5 * M,
                    max_concurrency=4)
down = TransferConfig(multipart_threshold=3 * M, multipart_chunksize=3 * M,
                      max_concurrency=4)
for k, extra in (('boto/kms', {'ServerSideEncryption': 'aws:kms',
                                'SSEKMSKeyId': key_arn}),
                 ('boto/s3', {})):
    try:
        s3.upload_file(path, bucket, k, Config=up, ExtraArgs=extra)
        ok(True, 'upload_file %s: 5 MiB parts, 4 at a time' % k)
        s3.download_file(bucket, k, out, Config=down)
        with open(out, 'rb') as f:
            ok(f.read() == data, 'download_file %s in 3 MiB ranges: '
               'byte-identical' % k)
        h = s3.head_object(Bucket=bucket, Key=k)
        ok(h['ContentLength'] == len(data), 'head_object %s: the plaintext '
           'length' % k, h['ContentLength'])
        ok(h['ServerSideEncryption'] == extra.get('ServerSideEncryption',
                                                  'AES256'),
           'head_object %s: %s' % (k, h['ServerSideEncryption']))
        h = s3.head_object(Bucket=bucket, Key=k, PartNumber=2)
        ok(h['ContentLength'] == 5 * M and h['PartsCount'] == 5,
           'head_object %s PartNumber=2' % k, h)
        g = s3.get_object(Bucket=bucket, Key=k, PartNumber=5)
        ok(g['Body'].read() == data[20 * M:] and g['PartsCount'] == 5,
           'get_object %s PartNumber=5: the last part' % k)
        g = s3.get_object(Bucket=bucket, Key=k,
                          Range='bytes=%d-%d' % (10 * M - 7, 15 * M + 7))
        ok(g['Body'].read() == data[10 * M - 7:15 * M + 8],
           'get_object %s: a range across three parts' % k)
    except Exception as e:
        ok(False, k, repr(e))
l = s3.list_objects_v2(Bucket=bucket, Prefix='boto/')
ok(sorted((o['Key'], o['Size']) for o in l.get('Contents', []))
   == [('boto/kms', len(data)), ('boto/s3', len(data))],
   'list_objects_v2: the plaintext sizes', l.get('Contents'))
print(json.dumps(res))
PY
$t0 = time;
$r = $t->run(['python3', "$d/boto.py", $t->s3_tls_endpoint, $t->ca_file, $B,
              $boto, "$d/boto.out", $key->{Arn}]);
diag sprintf 'boto3 over HTTPS, 2 x (23 MiB up in 5 MiB parts, down in '
           . '3 MiB ranges, reads): %.1f s', time - $t0;
my $res = eval { $t->json_decode($r->{out}) };
ok($res && @$res, 'boto3 ran') or diag $r->{err}, $r->{out};
ok($_->{ok}, "boto3: $_->{name}") || diag $_->{info} for @{$res || []};
parts_ok($B, 'boto/kms', (5 * $M) x 4, 3 * $M + 123);

# ---- rclone ------------------------------------------------------------------------------------

my $c = $t->cred('alice');
my $plain = $t->s3_port;
$t->spew('rclone.conf', <<"EOF");
[gw]
type = s3
provider = Other
access_key_id = $c->[0]
secret_access_key = $c->[1]
endpoint = http://127.0.0.1:$plain
region = us-east-1
force_path_style = true
upload_cutoff = 5M
chunk_size = 5M
EOF
sub rclone {
    # rclone refuses AWS_CA_BUNDLE over plain HTTP
    $t->run(['rclone', '--config', "$d/rclone.conf", '--retries', '1',
             '--low-level-retries', '1', @_], env => { AWS_CA_BUNDLE => '' });
}
my $rc = $t->make_file('rclone', 12 * $M + 3);
$r = rclone('mkdir', 'gw:rclonempu');
$r = rclone('copyto', $rc, 'gw:rclonempu/obj');
is($r->{rc}, 0, 'rclone copyto up, 12 MiB in 5 MiB chunks') or diag $r->{err};
parts_ok('rclonempu', 'obj', 5 * $M, 5 * $M, 2 * $M + 3);
$r = rclone('copyto', 'gw:rclonempu/obj', "$d/rclone.out");
ok($r->{rc} == 0 && $t->slurp("$d/rclone.out") eq $t->slurp($rc),
   'rclone copyto down: byte-identical') or diag $r->{err};
$r = rclone('cat', '--offset', 5 * $M - 4, '--count', 8, 'gw:rclonempu/obj');
is($r->{out}, substr($t->slurp($rc), 5 * $M - 4, 8),
   'rclone cat across parts 1 and 2');
$r = rclone('lsl', 'gw:rclonempu');
like($r->{out}, qr/^\s*12582915 .* obj$/m, 'rclone lsl: the plaintext size');

# ---- s3cmd ------------------------------------------------------------------------------------

$t->spew('s3cfg', <<"EOF");
[default]
access_key = $c->[0]
secret_key = $c->[1]
host_base = 127.0.0.1:$plain
host_bucket = 127.0.0.1:$plain
use_https = False
signature_v2 = False
bucket_location = us-east-1
enable_multipart = True
multipart_chunk_size_mb = 5
EOF
sub s3cmd { $t->run(['s3cmd', '-c', "$d/s3cfg", @_]) }
my $sc = $t->make_file('s3cmd', 12 * $M + 5);
$r = s3cmd('mb', 's3://s3cmdmpu');
$r = s3cmd('put', $sc, 's3://s3cmdmpu/obj');
is($r->{rc}, 0, 's3cmd put, 12 MiB in 5 MiB parts') or diag $r->{err};
unlike($r->{err}, qr/MD5 Sums don't match/, '... its parts\' ETags are their MD5s');
parts_ok('s3cmdmpu', 'obj', 5 * $M, 5 * $M, 2 * $M + 5);
$r = s3cmd('put', $sc, 's3://s3cmdmpu/kms', '--server-side-encryption',
           '--server-side-encryption-kms-id', $key->{Arn});
is($r->{rc}, 0, 's3cmd put with SSE-KMS') or diag $r->{err};
for my $k ('obj', 'kms') {
    unlink "$d/s3cmd.out";
    $r = s3cmd('get', "s3://s3cmdmpu/$k", "$d/s3cmd.out");
    ok($r->{rc} == 0 && $t->slurp("$d/s3cmd.out") eq $t->slurp($sc),
       "s3cmd get $k: byte-identical") or diag $r->{err};
}
$r = s3cmd('ls', 's3://s3cmdmpu');
like($r->{out}, qr/\s12582917\s+s3:\/\/s3cmdmpu\/obj/, 's3cmd ls: the plaintext size');
$r = s3cmd('info', 's3://s3cmdmpu/kms');
like($r->{out}, qr/SSE:\s+aws:kms/, 's3cmd info: aws:kms');

$t->done;
