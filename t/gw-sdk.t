# boto3 over HTTPS (its default: aws-chunked with a CRC32 trailer,
# STREAMING-UNSIGNED-PAYLOAD-TRAILER, and checksum mode on GET) and over
# HTTP (a signed payload), s3cmd and rclone through the gateway.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-sdk');
$t->start_redis;
$t->start_moto;
$t->start_nginx(
    tls => 1,
    http => "    log_format sdk '\$server_port \$request_method \$uri \$status "
          . "\"\$http_x_amz_content_sha256\" \"\$http_x_amz_trailer\" "
          . "\"\$http_content_encoding\" \"\$http_x_amz_checksum_mode\"';\n",
    gateway => "            access_log %%DIR%%/sdk.log sdk;");

my $d = $t->dir;
my $F = 65536;
my @sizes = (0, 1, $F - 1, $F, $F + 1, 3 * $F + 5);
$t->make_file("f-$_", $_) for @sizes;
$t->make_file('f-big', 20 * 1024 * 1024);

my $key = $t->aws(qw(kms create-key --description gw-sdk))->{json}{KeyMetadata};

my $boto = <<'PY';
import sys, os, json, hashlib, base64
import boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig

endpoint, bucket, prefix, key_arn, datadir = sys.argv[1:6]
sizes = [int(x) for x in sys.argv[6].split(',')]
res = []

def ok(cond, name, info=''):
    res.append({'ok': bool(cond), 'name': prefix + ': ' + name,
                'info': str(info)[:400]})

def data(name):
    with open(os.path.join(datadir, name), 'rb') as f:
        return f.read()

cfg = Config(s3={'addressing_style': 'path'},
             retries={'max_attempts': 1, 'mode': 'standard'})
s3 = boto3.client('s3', endpoint_url=endpoint, config=cfg)

try:
    s3.create_bucket(Bucket=bucket)
    ok(True, 'create_bucket')
except Exception as e:
    ok(False, 'create_bucket', repr(e))

for n in sizes:
    body = data('f-%d' % n)
    k = '%s/%d' % (prefix, n)
    try:
        r = s3.put_object(Bucket=bucket, Key=k, Body=body)
        ok(r.get('ServerSideEncryption') == 'AES256', 'put %d: AES256' % n,
           r.get('ServerSideEncryption'))
        ok(r['ETag'] == '"%s"' % hashlib.md5(body).hexdigest(),
           'put %d: the ETag is the MD5, as S3 answers for SSE-S3' % n,
           r['ETag'])
        g = s3.get_object(Bucket=bucket, Key=k, ChecksumMode='ENABLED')
        got = g['Body'].read()
        ok(got == body, 'get %d with checksum mode: same bytes' % n, len(got))
        hh = g['ResponseMetadata']['HTTPHeaders']
        ok(not [h for h in hh if h.startswith('x-amz-checksum-')
                or h.startswith('x-amz-meta-ssek')],
           'get %d: no ciphertext checksum, no internal metadata' % n, hh)
        ok(g['ETag'] == r['ETag'], 'get %d: the same ETag' % n, g['ETag'])
        h = s3.head_object(Bucket=bucket, Key=k)
        ok(h['ContentLength'] == n and h['ETag'] == r['ETag'],
           'head %d: length and ETag' % n, h)
    except Exception as e:
        ok(False, 'size %d' % n, repr(e))

# SSE-KMS with a context and user metadata
body = data('f-%d' % (3 * 65536 + 5))
ctx = base64.b64encode(b'{"app":"boto3"}').decode()
try:
    r = s3.put_object(Bucket=bucket, Key=prefix + '/kms', Body=body,
                      ServerSideEncryption='aws:kms', SSEKMSKeyId=key_arn,
                      SSEKMSEncryptionContext=ctx,
                      Metadata={'origin': 'boto3', 'n': '1'})
    ok(r['ServerSideEncryption'] == 'aws:kms' and r['SSEKMSKeyId'] == key_arn,
       'put aws:kms: answered with the key ARN', r)
    g = s3.get_object(Bucket=bucket, Key=prefix + '/kms',
                      ChecksumMode='ENABLED')
    ok(g['Body'].read() == body, 'get aws:kms: same bytes')
    ok(g['Metadata'] == {'origin': 'boto3', 'n': '1'},
       'get aws:kms: the user metadata', g['Metadata'])
    ok(g['SSEKMSKeyId'] == key_arn, 'get aws:kms: the key ARN')
    for a, b in ((65535, 65536), (0, 0), (196600, 196612), (131072, None)):
        spec = 'bytes=%d-%s' % (a, '' if b is None else b)
        g = s3.get_object(Bucket=bucket, Key=prefix + '/kms', Range=spec)
        want = body[a:] if b is None else body[a:b + 1]
        ok(g['Body'].read() == want, 'get ' + spec)
    g = s3.get_object(Bucket=bucket, Key=prefix + '/kms', Range='bytes=-100')
    ok(g['Body'].read() == body[-100:], 'get bytes=-100')
except Exception as e:
    ok(False, 'aws:kms', repr(e))

# the checksums the SDK offers
for alg in ('CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'):
    try:
        r = s3.put_object(Bucket=bucket, Key=prefix + '/ck-' + alg,
                          Body=body, ChecksumAlgorithm=alg)
        g = s3.get_object(Bucket=bucket, Key=prefix + '/ck-' + alg,
                          ChecksumMode='ENABLED')
        ok(g['Body'].read() == body, 'checksum %s: put and get' % alg)
        ok(r.get('Checksum' + alg), 'checksum %s: echoed' % alg, r)
    except Exception as e:
        if 'MissingDependency' in repr(e) or 'awscrt' in repr(e).lower():
            res.append({'ok': True, 'skip': 1,
                        'name': prefix + ': %s needs awscrt '
                                '(t/gw-raw.t sends it)' % alg})
        else:
            ok(False, 'checksum ' + alg, repr(e))

# the transfer manager: one PUT (threshold raised), ranged GETs down
big = data('f-big')
tc = TransferConfig(multipart_threshold=64 * 1024 * 1024,
                    multipart_chunksize=8 * 1024 * 1024)
out = os.path.join(datadir, prefix + '-big.out')
try:
    s3.upload_file(os.path.join(datadir, 'f-big'), bucket, prefix + '/big',
                   Config=tc)
    s3.download_file(bucket, prefix + '/big', out,
                     Config=TransferConfig(multipart_threshold=8 * 1024 * 1024,
                                           multipart_chunksize=8 * 1024 * 1024))
    with open(out, 'rb') as f:
        ok(f.read() == big, 'upload_file and download_file (ranged) 20 MiB')
    os.unlink(out)
except Exception as e:
    ok(False, 'transfer manager', repr(e))

# errors come as S3's
try:
    s3.get_object(Bucket=bucket, Key=prefix + '/missing')
    ok(False, 'NoSuchKey')
except s3.exceptions.NoSuchKey:
    ok(True, 'a missing key: NoSuchKey')
except Exception as e:
    ok(False, 'NoSuchKey', repr(e))
try:
    s3.put_object(Bucket=bucket, Key=prefix + '/nokey', Body=b'x',
                  ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/none')
    ok(False, 'KMS.NotFoundException')
except Exception as e:
    ok('KMS.NotFoundException' in repr(e), 'an unknown key: KMS.NotFoundException',
       repr(e))

print(json.dumps(res))
PY
$t->spew('boto.py', $boto);

sub boto {
    my ($endpoint, $bucket, $prefix, %env) = @_;
    my $r = $t->run(['python3', "$d/boto.py", $endpoint, $bucket, $prefix,
                     $key->{Arn}, $d, join(',', @sizes)], env => \%env);
    my $res = eval { $t->json_decode($r->{out}) };
    ok($res && @$res, "boto3 $prefix ran") or diag $r->{err}, $r->{out};
    for my $x (@{$res || []}) {
        if ($x->{skip}) {
            SKIP: { skip $x->{name}, 1 }
            next;
        }
        ok($x->{ok}, "boto3 $x->{name}") or diag $x->{info};
    }
}

# ---- boto3 over HTTPS --------------------------------------------------------------------

boto($t->s3_tls_endpoint, 'sdkbkt', 'https', AWS_CA_BUNDLE => $t->ca_file);

my @log = split /\n/, $t->slurp("$d/sdk.log");
my $tls = $t->{s3_tls_port};
my @tls_puts = grep { /^$tls PUT \/sdkbkt\/https\/\d+ 200/ } @log;
ok(@tls_puts >= 6, 'boto3 PUTs over HTTPS logged');
ok(!grep({ !/"STREAMING-UNSIGNED-PAYLOAD-TRAILER" "x-amz-checksum-crc32" "aws-chunked"/ } @tls_puts),
   '... all STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer')
    or diag join "\n", @tls_puts;
ok(grep({ /^$tls GET \/sdkbkt\/https\/\d+ 200 .* "ENABLED"$/ } @log),
   '... and GETs with x-amz-checksum-mode: ENABLED');
$t->stored_ok('sdkbkt', 'https/' . (3 * $F + 5),
              $t->slurp("$d/f-" . (3 * $F + 5)),
              'what boto3 sent over HTTPS is stored encrypted', alg => 'AES256');

# ---- boto3 over HTTP ---------------------------------------------------------------------

boto($t->s3_endpoint, 'sdkbkt', 'http');
@log = split /\n/, $t->slurp("$d/sdk.log");
my $plain = $t->s3_port;
my @http_puts = grep { /^$plain PUT \/sdkbkt\/http\/\d+ 200/ } @log;
ok(@http_puts >= 6 && !grep({ !/ "[0-9a-f]{64}" / } @http_puts),
   'boto3 over HTTP signs the payload (hex SHA-256)') or diag join "\n", @http_puts;
$t->stored_ok('sdkbkt', 'http/' . ($F + 1), $t->slurp("$d/f-" . ($F + 1)),
              'what boto3 sent over HTTP is stored encrypted', alg => 'AES256');

# ---- many clients at once -----------------------------------------------------------------

$t->spew('many.py', <<'PY');
import sys, os, boto3, concurrent.futures as cf
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1],
                  config=Config(s3={'addressing_style': 'path'},
                                retries={'max_attempts': 1},
                                max_pool_connections=32))
def job(i):
    data = os.urandom(200000 + i * 1000)
    k = 'many/o%d' % i
    sse = {'ServerSideEncryption': 'aws:kms'} if i % 2 else {}
    for _ in range(3):
        s3.put_object(Bucket='sdkbkt', Key=k, Body=data, **sse)
        if s3.get_object(Bucket='sdkbkt', Key=k)['Body'].read() != data:
            return 'GET %d' % i
        r = s3.get_object(Bucket='sdkbkt', Key=k, Range='bytes=65530-131080')
        if r['Body'].read() != data[65530:131081]:
            return 'range %d' % i
        if s3.head_object(Bucket='sdkbkt', Key=k)['ContentLength'] != len(data):
            return 'HEAD %d' % i
    l = s3.list_objects_v2(Bucket='sdkbkt', Prefix='many/')
    return 'ok'
with cf.ThreadPoolExecutor(24) as ex:
    res = list(ex.map(job, range(48)))
print(res.count('ok'), [x for x in res if x != 'ok'])
PY
my $many = $t->run(['python3', "$d/many.py", $t->s3_endpoint]);
like($many->{out}, qr/^48 \[\]/,
     '48 clients at once, 24 in parallel: PUT, GET, ranges, HEAD, listings')
    or diag $many->{out}, substr($many->{err}, -1500);

# ---- s3cmd -----------------------------------------------------------------------------

my $c = $t->cred('alice');
$t->spew('s3cfg', <<"EOF");
[default]
access_key = $c->[0]
secret_key = $c->[1]
host_base = 127.0.0.1:$plain
host_bucket = 127.0.0.1:$plain
use_https = False
signature_v2 = False
bucket_location = us-east-1
enable_multipart = False
EOF
sub s3cmd { $t->run(['s3cmd', '-c', "$d/s3cfg", @_]) }

my $r = s3cmd('mb', 's3://s3cmdbkt');
is($r->{rc}, 0, 's3cmd mb') or diag $r->{err};
for my $n ($F - 1, $F + 1, 3 * $F + 5) {
    $r = s3cmd('put', "$d/f-$n", "s3://s3cmdbkt/obj-$n");
    is($r->{rc}, 0, "s3cmd put $n bytes") or diag $r->{err};
    unlike($r->{err}, qr/MD5 Sums don't match/, '... without an MD5 warning');
    unlink "$d/s3cmd.out";
    $r = s3cmd('get', "s3://s3cmdbkt/obj-$n", "$d/s3cmd.out");
    ok($r->{rc} == 0 && $t->slurp("$d/s3cmd.out") eq $t->slurp("$d/f-$n"),
       "s3cmd get $n bytes: byte-identical") or diag $r->{err};
    $t->stored_ok('s3cmdbkt', "obj-$n", $t->slurp("$d/f-$n"),
                  "s3cmd's object stored encrypted", alg => 'AES256');
}
$r = s3cmd('put', "$d/f-$F", 's3://s3cmdbkt/kms', '--server-side-encryption',
           '--server-side-encryption-kms-id', $key->{Arn});
is($r->{rc}, 0, 's3cmd put with SSE-KMS') or diag $r->{err};
$t->stored_ok('s3cmdbkt', 'kms', $t->slurp("$d/f-$F"),
              '... stored under the key', key_arn => $key->{Arn});
$r = s3cmd('info', 's3://s3cmdbkt/kms');
like($r->{out}, qr/File size:\s+$F\b/, 's3cmd info: the plaintext size');
like($r->{out}, qr/SSE:\s+aws:kms/, 's3cmd info: SSE aws:kms');
$r = s3cmd('get', 's3://s3cmdbkt/kms', "$d/s3cmd.kms", '--force');
ok($r->{rc} == 0 && $t->slurp("$d/s3cmd.kms") eq $t->slurp("$d/f-$F"),
   's3cmd get of the SSE-KMS object');
$r = s3cmd('del', "s3://s3cmdbkt/obj-$F");
$r = s3cmd('ls', 's3://s3cmdbkt');
like($r->{out}, qr{s3://s3cmdbkt/kms}, 's3cmd ls');

# ---- rclone ------------------------------------------------------------------------------

$t->spew('rclone.conf', <<"EOF");
[gw]
type = s3
provider = Other
access_key_id = $c->[0]
secret_access_key = $c->[1]
endpoint = http://127.0.0.1:$plain
region = us-east-1
force_path_style = true
upload_cutoff = 200M

[gwtls]
type = s3
provider = Other
access_key_id = $c->[0]
secret_access_key = $c->[1]
endpoint = https://127.0.0.1:$tls
region = us-east-1
force_path_style = true
upload_cutoff = 200M
EOF
sub rclone {
    $t->run(['rclone', '--config', "$d/rclone.conf", '--retries', '1',
             '--low-level-retries', '1', @_], env => { AWS_CA_BUNDLE => '' });
}

$r = rclone('mkdir', 'gw:rclonebkt');
is($r->{rc}, 0, 'rclone mkdir') or diag $r->{err};
for my $n (0, $F + 1, 3 * $F + 5) {
    $r = rclone('copyto', "$d/f-$n", "gw:rclonebkt/obj-$n");
    is($r->{rc}, 0, "rclone copyto up, $n bytes (it checks the MD5)")
        or diag $r->{err};
    unlink "$d/rclone.out";
    $r = rclone('copyto', "gw:rclonebkt/obj-$n", "$d/rclone.out");
    ok($r->{rc} == 0 && $t->slurp("$d/rclone.out") eq $t->slurp("$d/f-$n"),
       "rclone copyto down, $n bytes") or diag $r->{err};
}
$t->stored_ok('rclonebkt', 'obj-' . ($F + 1), $t->slurp("$d/f-" . ($F + 1)),
              "rclone's object stored encrypted", alg => 'AES256');
$r = rclone('cat', '--offset', 65530, '--count', 12, 'gw:rclonebkt/obj-' . (3 * $F + 5));
is($r->{out}, substr($t->slurp("$d/f-" . (3 * $F + 5)), 65530, 12),
   'rclone cat --offset --count (a range)');
$r = rclone('--ca-cert', $t->ca_file, 'copyto', "$d/f-big", 'gwtls:rclonebkt/big');
is($r->{rc}, 0, 'rclone over HTTPS up, 20 MiB') or diag $r->{err};
unlink "$d/rclone.out";
$r = rclone('--ca-cert', $t->ca_file, 'copyto', 'gwtls:rclonebkt/big', "$d/rclone.out");
ok($r->{rc} == 0 && $t->slurp("$d/rclone.out") eq $t->slurp("$d/f-big"),
   'rclone over HTTPS down, 20 MiB') or diag $r->{err};
unlink "$d/rclone.out";
mkdir "$d/tree";
$t->make_file("tree/f$_", 1000 * $_ + 7) for 1 .. 5;
$r = rclone('copy', "$d/tree", 'gw:rclonebkt/tree');
is($r->{rc}, 0, 'rclone copy of a directory') or diag $r->{err};
$r = rclone('check', "$d/tree", 'gw:rclonebkt/tree');
is($r->{rc}, 0, 'rclone check: sizes and MD5s from the listing match')
    or diag $r->{err};
$r = rclone('sync', "$d/tree", 'gw:rclonebkt/tree', '-v');
unlike($r->{err}, qr/Copied/, 'rclone sync again: nothing to copy');
$r = rclone('lsl', 'gw:rclonebkt');
like($r->{out}, qr/^\s*0 .* obj-0$/m, 'rclone lsl');
$r = rclone('deletefile', 'gw:rclonebkt/obj-0');
is($r->{rc}, 0, 'rclone deletefile');
is($t->backend_get('rclonebkt', 'obj-0')->{status}, 404, '... gone at the backend');

$t->done;
