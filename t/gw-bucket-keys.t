# S3 Bucket Keys through the gateway: a bucket-level key from KMS
# (GenerateDataKey under the bucket's ARN, audited), reused for many
# objects (1,000 boto3 PUTs make a handful of KMS calls), per requester,
# shared by workers through the Redis data-key cache (encrypted there),
# each object's key derived with its ARN (an object copied to another name
# at the backend does not decrypt); x-amz-meta-ssek-bk as DESIGN.md
# section 3 says; -bucket-key-enabled answered on PUT, GET and HEAD; a
# disabled key stops new PUTs within a second; the lifetime directive.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-bucket-keys');
$t->start_redis;
$t->start_moto;

# a second gateway whose bucket keys live two seconds
my $p2 = S3KMS::Test::free_port();
$t->start_nginx(vars => { S3_PORT2 => $p2 }, http => <<'EOF');
    server {
        listen 127.0.0.1:%%S3_PORT2%%;
        client_max_body_size 0;
        location / {
            s3_kms_gateway on;
            s3_kms_backend %%BACKEND%% %%BACKEND_KEY%%;
            s3_kms_bucket_key_lifetime 2s;
            s3_kms_default_encryption aws:kms alias/bk-loc bucket_key;
        }
    }
EOF

sub rcli { my $x = $t->redis_cli(@_) // ''; $x =~ s/\s+\z//; return $x }

sub create_key {
    my ($desc) = @_;
    my $r = $t->aws('kms', 'create-key', '--description', $desc);
    return $r->{json}{KeyMetadata};
}

# GenerateDataKey records under a bucket's ARN (so: bucket keys)
sub bucket_gdks {
    my ($bucket, $who) = @_;
    sleep 0.3;                      # the audit log's flush
    return grep {
        $_->{eventName} eq 'GenerateDataKey'
        && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
           eq "arn:aws:s3:::$bucket"
        && (!$who || $_->{userIdentity}{arn} eq $S3KMS::Test::CRED{$who}[3])
    } $t->audit_records;
}

my $B = 'bkeys';
my $r = $t->s3(qw(s3 mb), "s3://$B");
is($r->{rc}, 0, 'a bucket') or diag $r->{err};
my $k = create_key('bucket keys');
ok($k, 'a KMS key');

$r = $t->s3('s3api', 'put-bucket-encryption', '--bucket', $B,
            '--server-side-encryption-configuration',
            '{"Rules":[{"ApplyServerSideEncryptionByDefault":'
            . '{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"' . $k->{Arn}
            . '"},"BucketKeyEnabled":true}]}');
is($r->{rc}, 0, 'put-bucket-encryption: aws:kms, BucketKeyEnabled')
    or diag $r->{err};
$r = $t->s3(qw(s3api get-bucket-encryption --bucket), $B);
ok($r->{json}{ServerSideEncryptionConfiguration}{Rules}[0]{BucketKeyEnabled},
   '... get-bucket-encryption says BucketKeyEnabled true') or diag $r->{out};

# ---- one object ---------------------------------------------------------------------------------

my $data = $t->bytes(200000, 'bucket keys');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'one', body => $data);
is($r->{status}, 200, 'a PUT without SSE headers') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption'}, 'aws:kms', '... aws:kms');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k->{Arn},
   '... under the bucket default key');
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answers -bucket-key-enabled: true');

my $b = $t->stored_ok($B, 'one', $data, '... stored in the object format',
                      key_arn => $k->{Arn});
my $salt = decode_base64($b->{headers}{'x-amz-meta-ssek-bk'} // '');
is(length $salt, 16, '... x-amz-meta-ssek-bk holds a 16-byte salt in base64');
is(encode_base64($salt, ''), $b->{headers}{'x-amz-meta-ssek-bk'} // '',
   '... canonical base64');

my @gdk = bucket_gdks($B);
is(scalar @gdk, 1, 'one GenerateDataKey call under the bucket ARN so far: '
   . "put-bucket-encryption's key check, whose key became the caller's "
   . 'first bucket key')
    or diag explain [map { $_->{requestParameters} } @gdk];
is($gdk[-1]{userIdentity}{invokedBy}, 's3.amazonaws.com',
   '... invoked by S3 on behalf of the caller');
ok(!grep({ ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
           eq "arn:aws:s3:::$B/one" } $t->audit_records),
   '... none under the object ARN');

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'one');
ok($r->{status} == 200 && $r->{body} eq $data, 'GET decrypts it');
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answers -bucket-key-enabled: true');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'one',
                    headers => { range => 'bytes=70000-140000' });
ok($r->{status} == 206 && $r->{body} eq substr($data, 70000, 70001),
   '... and ranges');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'one');
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   'HEAD answers -bucket-key-enabled: true');
is($r->{headers}{'content-length'}, 200000, '... and the plaintext length');
my ($dec) = grep { $_->{eventName} eq 'Decrypt' } $t->audit_records;
is($dec && $dec->{requestParameters}{encryptionContext}{'aws:s3:arn'},
   "arn:aws:s3:::$B", "GET's Decrypt is under the bucket's ARN");

# the index knows the salt: the read without it (index flushed) still works
is(rcli('HGET', "ssek:obj:{$B}:one", 'bk'),
   $b->{headers}{'x-amz-meta-ssek-bk'}, 'the index entry keeps the salt');
rcli('DEL', "ssek:obj:{$B}:one");
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'one');
ok($r->{status} == 200 && $r->{body} eq $data,
   '... and GET works from the backend metadata without it');

# ---- the object is bound to its name --------------------------------------------------------------

my %meta = map { $_ => $b->{headers}{$_} } grep { /^x-amz-meta-ssek-/ }
           keys %{$b->{headers}};
$r = $t->backend_put($B, 'moved', $b->{body}, \%meta);
is($r->{status}, 200, 'the stored object copied to another name at the backend');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'moved');
$t->is_s3_error($r, 500, 'InternalError',
                '... does not decrypt there: the object ARN is in its key');
unlike($r->{body}, qr/\Q@{[substr($data, 0, 16)]}\E/, '... no plaintext');
$t->allow_log(qr/moved/);

# ---- the metadata salt is authenticated by the derivation --------------------------------------------

my $bad = encode_base64(pack('a16', 'not the salt....'), '');
$r = $t->backend_put($B, 'one', $b->{body}, { %meta, 'x-amz-meta-ssek-bk' => $bad });
rcli('DEL', "ssek:obj:{$B}:one");
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'one');
$t->is_s3_error($r, 500, 'InternalError', 'another salt in the metadata: refused');

# ---- requests that ask for it or not ---------------------------------------------------------------

my $B2 = 'bkeys-plain';
$t->s3(qw(s3 mb), "s3://$B2");
$r = $t->s3_request(method => 'PUT', bucket => $B2, key => 'asked', body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                 'x-amz-server-side-encryption-aws-kms-key-id' => $k->{KeyId},
                                 'x-amz-server-side-encryption-bucket-key-enabled' => 'true' });
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   'the PUT header asks for a bucket key in a bucket without a default');
$b = $t->stored_ok($B2, 'asked', $data, '... stored', key_arn => $k->{Arn});
ok($b->{headers}{'x-amz-meta-ssek-bk'}, '... with a bucket key');
ok($t->s3_request(method => 'GET', bucket => $B2, key => 'asked')->{body} eq $data,
   '... reads back');

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'refused', body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                 'x-amz-server-side-encryption-bucket-key-enabled' => 'false' });
ok(!exists $r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'},
   'bucket-key-enabled: false overrides the bucket default');
$b = $t->backend_get($B, 'refused');
ok(!exists $b->{headers}{'x-amz-meta-ssek-bk'}, '... no ssek-bk: its own data key');

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'kms-only', body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                 'x-amz-server-side-encryption-aws-kms-key-id' => $k->{KeyId} });
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   "aws:kms without the header: the bucket's BucketKeyEnabled applies");

my $ctx = encode_base64('{"team":"blue"}', '');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'ctx', body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                 'x-amz-server-side-encryption-context' => $ctx });
is($r->{status}, 200, 'a bucket key with an encryption context') or diag $r->{body};
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'ctx');
ok($r->{status} == 200 && $r->{body} eq $data, '... reads back');
my @ctx = grep { ($_->{requestParameters}{encryptionContext}{team} // '') eq 'blue' }
          bucket_gdks($B);
is(scalar @ctx, 1, '... its own bucket key: the context is part of it');

# ---- 1,000 PUTs, a handful of KMS calls -----------------------------------------------------------

# cold: no bucket key in the workers' memory nor in Redis
rcli('DEL', $_) for split /\n/, rcli('KEYS', 'ssek:dk:*');
$t->restart_nginx;
is(rcli('KEYS', 'ssek:dk:*'), '', 'nginx restarted, the data-key cache empty');
my $before = () = bucket_gdks($B);
my $d = $t->dir;
$t->spew("$d/many.py", <<'EOF');
import sys, json, boto3
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1],
                  config=Config(s3={'addressing_style': 'path'},
                                retries={'max_attempts': 1}))
n, bk, arns, fails = int(sys.argv[3]), 0, set(), []
for i in range(n):
    try:
        r = s3.put_object(Bucket=sys.argv[2], Key='many/%04d' % i,
                          Body=b'object %d ' % i * 20)
        bk += 1 if r.get('BucketKeyEnabled') else 0
        arns.add(r.get('SSEKMSKeyId'))
    except Exception as e:
        fails.append(str(e))
print(json.dumps({'bk': bk, 'arns': sorted(a for a in arns if a),
                  'fails': fails[:3], 'nfails': len(fails)}))
EOF
my $t0 = time;
$r = $t->run(['python3', "$d/many.py", $t->s3_endpoint, $B, 1000]);
my $secs = time - $t0;
my $res = $r->{json} // {};
is($res->{nfails}, 0, '1,000 boto3 PUTs in one process succeed')
    or diag $r->{err}, explain $res->{fails};
is($res->{bk}, 1000, '... each answered BucketKeyEnabled');
is_deeply($res->{arns}, [$k->{Arn}], '... all under the bucket default key');
my $calls = bucket_gdks($B) - $before;
ok($calls >= 1 && $calls <= 2, "... with $calls GenerateDataKey calls in "
   . "the audit log (one, or one per worker that raced for it)");
diag sprintf "1,000 PUTs with S3 Bucket Keys: %d GenerateDataKey calls, %.1f s",
     $calls, $secs;
is(scalar(() = rcli('KEYS', 'ssek:dk:*') =~ /ssek:dk:/g) >= 1, 1,
   'the bucket keys are in the Redis data-key cache');
my ($dk) = split /\n/, rcli('KEYS', 'ssek:dk:*');
like($dk // '', qr/^ssek:dk:[0-9a-f]{64}$/, '... under ssek:dk:HASH');
my $ttl = rcli('PTTL', $dk // 'none');
ok($ttl > 0 && $ttl <= 600000, "... expiring (PTTL $ttl ms)");
my $v = rcli('--no-raw', 'GET', $dk // 'none');
unlike($v, qr/arn:aws:kms/, '... its value encrypted (no key ARN in clear)');
$b = $t->backend_get($B, 'many/0500');
ok($b->{headers}{'x-amz-meta-ssek-bk'}, 'an object of those has its salt');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'many/0500');
is($r->{body}, 'object 500 ' x 20, '... and decrypts');
$r = $t->s3('s3api', 'get-object', '--bucket', $B, '--key', 'many/0999',
            "$d/got999");
is($t->slurp("$d/got999"), 'object 999 ' x 20, '... aws s3api get-object too');
ok($r->{json}{BucketKeyEnabled}, '... which sees BucketKeyEnabled');

# ---- per requester ----------------------------------------------------------------------------------

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'by-bob', body => $data,
                    who => 'bob');
is($r->{status}, 200, 'bob PUTs into the bucket') or diag $r->{body};
is(scalar bucket_gdks($B, 'bob'), 1, '... with a bucket key of his own: '
   . 'KMS authorizes and audits each requester');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'by-bob2', body => $data,
                    who => 'bob');
is(scalar bucket_gdks($B, 'bob'), 1, '... which he reuses');

# ---- the lifetime -----------------------------------------------------------------------------------

my $B3 = 'bkeys-short';
$t->s3(qw(s3 mb), "s3://$B3");
my $put3 = sub {
    return $t->s3_request(method => 'PUT', bucket => $B3, key => $_[0],
                          body => $data, port => $p2,
                          headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                       'x-amz-server-side-encryption-aws-kms-key-id' => $k->{KeyId},
                                       'x-amz-server-side-encryption-bucket-key-enabled' => 'true' });
};
$put3->("a$_") for 1 .. 4;
is(scalar bucket_gdks($B3), 1, 's3_kms_bucket_key_lifetime 2s: one bucket key for 4 PUTs');
$ttl = 0;
for (split /\n/, rcli('KEYS', 'ssek:dk:*')) {
    my $x = rcli('PTTL', $_);
    $ttl = $x if $x > 0 && $x <= 2000;
}
ok($ttl > 0, "... its Redis entry expires within 2 s ($ttl ms)");
sleep 2.5;
$put3->("b$_") for 1 .. 3;
is(scalar bucket_gdks($B3), 2, '... a new one after it expired');
ok($t->s3_request(method => 'GET', bucket => $B3, key => 'a1')->{body} eq $data
   && $t->s3_request(method => 'GET', bucket => $B3, key => 'b3')->{body} eq $data,
   '... objects of both decrypt');

# ---- the location's default with bucket_key ---------------------------------------------------

$r = $t->aws(qw(kms create-alias --alias-name alias/bk-loc --target-key-id),
             $k->{KeyId});
is($r->{rc}, 0, 'an alias for the location default') or diag $r->{err};
my $B5 = 'bkeys-loc';
$t->s3(qw(s3 mb), "s3://$B5");
$r = $t->s3('s3', 'cp', $t->spew('loc.bin', $data), "s3://$B5/loc",
            { endpoint => "http://127.0.0.1:$p2" });
is($r->{rc}, 0, "aws s3 cp through a location with 's3_kms_default_encryption "
   . "aws:kms alias bucket_key'") or diag $r->{err};
$b = $t->stored_ok($B5, 'loc', $data, '... stored under the alias\'s key',
                   key_arn => $k->{Arn});
ok($b->{headers}{'x-amz-meta-ssek-bk'}, '... with a bucket key');
is(scalar bucket_gdks($B5), 1, '... fetched once');

# ---- a disabled key stops new PUTs within a second ------------------------------------------------

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'before-disable', body => $data);
is($r->{status}, 200, 'the cached bucket key is in use');
$r = $t->aws(qw(kms disable-key --key-id), $k->{KeyId});
is($r->{rc}, 0, 'the key is disabled') or diag $r->{err};
my $disabled_at = time;
my ($first_refusal, $ok_after) = (undef, 0);
for my $i (1 .. 40) {
    my $x = $t->s3_request(method => 'PUT', bucket => $B, key => "after-disable/$i",
                           body => $data);
    if ($x->{status} == 200) {
        $ok_after++;
    } else {
        $first_refusal //= $x;
    }
    sleep 0.025;
}
my $within = time - $disabled_at;
ok($first_refusal, 'PUTs after it are refused');
is($ok_after, 0, '... every one of them, from the first (the ring follows '
   . 'kms:events before the next request)') or diag "$ok_after PUTs passed";
$t->is_s3_error($first_refusal // {}, 400, 'KMS.DisabledException',
                '... with KMS.DisabledException');
diag sprintf "40 PUTs in the %.2f s after DisableKey: %d stored", $within,
     $ok_after;
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'one');
isnt($r->{status}, 200, 'objects of a disabled key do not decrypt either');
$r = $t->aws(qw(kms enable-key --key-id), $k->{KeyId});
sleep 0.3;
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'after-enable', body => $data);
is($r->{status}, 200, 'enabled again: PUTs work') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... with a bucket key');

# scheduled for deletion: the same
$r = $t->aws(qw(kms schedule-key-deletion --pending-window-in-days 7 --key-id),
             $k->{KeyId});
is($r->{rc}, 0, 'the key is scheduled for deletion') or diag $r->{err};
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'pending', body => $data);
$t->is_s3_error($r, 400, 'KMS.KMSInvalidStateException',
                '... the next PUT is refused: KMS.KMSInvalidStateException');

$t->done;
