# The key store (issue 2, acceptance 5): kept across restarts of nginx and
# Redis; refused whole under another root key; backed up, flushed and
# restored with s3kms-keystore; maintained by nginx itself (keys erased
# once their deletion window has passed, due keys rotated); and the
# configuration checks: secret files readable by others, a bad value of
# each s3_kms_* directive.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64 qw(decode_base64);
use Digest::SHA;
use Time::HiRes qw(time sleep);
use S3KMS::Test;

my $t = S3KMS::Test->new;
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $d = $t->dir;
my $tool = "$S3KMS::Test::TOP/build/tools/s3kms-keystore";

# nginx -t writes its refusals to error.log: those are expected here
$t->allow_log(qr/"s3_kms_\w+" directive/,
              qr/belongs to another root key/);

sub kms {
    my ($op, $body) = @_;
    my $r = $t->kms_raw($op, ref $body ? $t->json_encode($body) : $body);
    return $r;
}

sub ok_kms {
    my ($op, $body, $name) = @_;
    my $r = kms($op, $body);
    is($r->{status}, 200, $name // $op) or diag $r->{content};
    return $r->{json} // {};
}

# An S3 client through the gateway (boto3, one process per step): puts
# objects, or gets them and prints their SHA-256.
my $s3py = <<'PY';
import boto3, botocore, hashlib, json, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1],
                  config=botocore.config.Config(
                      s3={'addressing_style': 'path'},
                      read_timeout=int(sys.argv[3]) if len(sys.argv) > 3
                                   else 20,
                      retries={'max_attempts': 1}))
out = {}
if sys.argv[2] == 'put':
    s3.create_bucket(Bucket='store-test')
    for key, sse in (('plain', None), ('aes', 'AES256')):
        kw = {'ServerSideEncryption': sse} if sse else {}
        r = s3.put_object(Bucket='store-test', Key=key,
                          Body=('object ' + key).encode() * 1000, **kw)
        out[key] = r.get('ServerSideEncryption')
else:
    for key in ('plain', 'aes'):
        try:
            b = s3.get_object(Bucket='store-test', Key=key)['Body'].read()
            out[key] = hashlib.sha256(b).hexdigest()
        except botocore.exceptions.ClientError as e:
            out[key] = e.response['Error']['Code']
        except botocore.exceptions.ReadTimeoutError:
            out[key] = 'timed out'
print(json.dumps(out))
PY
my %objsha = map { ($_ => Digest::SHA::sha256_hex(("object $_") x 1000)) }
             qw(plain aes);

# ---- a key store worth keeping -----------------------------------------------

my %k;
$k{rot} = ok_kms('CreateKey', { Description => 'rotated',
                                Tags => [{ TagKey => 'team',
                                           TagValue => 'storage' }] },
                 'a key with a tag')->{KeyMetadata}{KeyId};
$k{off} = ok_kms('CreateKey', { Description => 'disabled' },
                 'a key to disable')->{KeyMetadata}{KeyId};
$k{del} = ok_kms('CreateKey', { Description => 'to delete' },
                 'a key to delete')->{KeyMetadata}{KeyId};
ok_kms('CreateAlias', { AliasName => 'alias/rotated', TargetKeyId => $k{rot} });
ok_kms('CreateAlias', { AliasName => 'alias/disabled',
                        TargetKeyId => $k{off} });
ok_kms('CreateAlias', { AliasName => 'alias/doomed', TargetKeyId => $k{del} });

my %blob;
my $ctx = { purpose => 'store-test' };
sub encrypt {
    my ($id, $pt) = @_;
    return ok_kms('Encrypt', { KeyId => $id, Plaintext => $pt,
                               EncryptionContext => $ctx },
                  "encrypt under $id")->{CiphertextBlob};
}
$blob{v1} = encrypt($k{rot}, 'dmVyc2lvbiBvbmU=');
ok_kms('EnableKeyRotation', { KeyId => $k{rot}, RotationPeriodInDays => 90 });
ok_kms('RotateKeyOnDemand', { KeyId => $k{rot} });
$blob{v2} = encrypt($k{rot}, 'dmVyc2lvbiB0d28=');
$blob{off} = encrypt($k{off}, 'b2Zm');
ok_kms('DisableKey', { KeyId => $k{off} });
my $sched = ok_kms('ScheduleKeyDeletion', { KeyId => $k{del},
                                            PendingWindowInDays => 7 });
is($sched->{KeyState}, 'PendingDeletion', 'a key pending deletion');

# everything the API shows about the store
sub snapshot {
    my %s;
    $s{keys} = [sort map { $_->{KeyId} }
                @{kms('ListKeys', '{}')->{json}{Keys} || []}];
    $s{aliases} = [map { "$_->{AliasName} $_->{TargetKeyId}" }
                   @{kms('ListAliases', '{}')->{json}{Aliases} || []}];
    for my $id (@{$s{keys}}) {
        my $m = kms('DescribeKey', { KeyId => $id })->{json}{KeyMetadata};
        $s{key}{$id} = join ' ', map { $m->{$_} // '-' }
            qw(KeyState Description Enabled CurrentKeyMaterialId DeletionDate);
        $s{rotations}{$id} = join ' ', map {
            "$_->{KeyMaterialId}:" . ($_->{RotationType} // 'initial')
        } @{kms('ListKeyRotations', { KeyId => $id,
                                      IncludeKeyMaterial => 'ALL_KEY_MATERIAL'
                                    })->{json}{Rotations} || []};
    }
    $s{tags} = join ' ', map { "$_->{TagKey}=$_->{TagValue}" }
        @{kms('ListResourceTags', { KeyId => $k{rot} })->{json}{Tags} || []};
    my $st = kms('GetKeyRotationStatus', { KeyId => $k{rot} })->{json};
    $s{rotation} = join ' ', map { $st->{$_} // '-' }
        qw(KeyRotationEnabled RotationPeriodInDays NextRotationDate);
    return \%s;
}

sub blobs_decrypt {
    my ($when) = @_;
    for my $v (qw(v1 v2)) {
        my $r = kms('Decrypt', { CiphertextBlob => $blob{$v},
                                 EncryptionContext => $ctx });
        is($r->{json}{Plaintext}, $v eq 'v1' ? 'dmVyc2lvbiBvbmU='
                                             : 'dmVyc2lvbiB0d28=',
           "$when: the blob made under version " . substr($v, 1)
           . ' decrypts');
    }
    is(kms('Decrypt', { CiphertextBlob => $blob{off},
                        EncryptionContext => $ctx })->{json}{__type},
       'DisabledException', "$when: the disabled key is still disabled");
}

# SSE-S3 objects: the gateway's internal key is made on first use
my $put = $t->python($s3py, args => [$t->s3_endpoint, 'put']);
is_deeply($put->{json}, { plain => 'AES256', aes => 'AES256' },
          'two objects stored with SSE-S3 through the gateway')
    or diag $put->{err};
my $ikey = 'kms:key:{00000000-0000-4000-8000-000000000000}';
is($t->redis_cli('EXISTS', $ikey) =~ s/\s+\z//r, '1',
   'the internal key is a record in the key store');
my $iarn = 'arn:aws:kms:us-east-1:000000000000:key/'
         . '00000000-0000-4000-8000-000000000000';
is(kms('DescribeKey', { KeyId => $iarn })->{json}{__type},
   'NotFoundException', 'the KMS API does not know the internal key');
sleep 0.3;                              # the audit log's flush
my @gw = grep { ($_->{userIdentity}{invokedBy} // '') eq 's3.amazonaws.com' }
         $t->audit_records;
is(scalar @gw, 0, 'SSE-S3 left no audit record');

my $before = snapshot();
is(scalar @{$before->{keys}}, 3, 'three keys');
is(scalar @{$before->{aliases}}, 3, 'three aliases');
like($before->{rotations}{$k{rot}}, qr/:initial \S+:ON_DEMAND$/,
     'the rotated key has two versions');
blobs_decrypt('before');

sub objects_read {
    my ($when, $timeout) = @_;
    my $get = $t->python($s3py, args => [$t->s3_endpoint, 'get',
                                         $timeout // 20]);
    is_deeply($get->{json}, \%objsha, "$when: the SSE-S3 objects read back")
        or diag $get->{err};
}

# ---- stop and start nginx and Redis ------------------------------------------

$t->stop_nginx;
$t->stop_redis;
$t->start_redis;
$t->start_nginx(keep_conf => 1);
is_deeply(snapshot(), $before,
          'after restarting Redis and nginx every key, alias, version, tag '
          . 'and state is back');
blobs_decrypt('after the restart');
objects_read('after the restart');

# ---- another root key --------------------------------------------------------

my $fp = $t->redis_cli('GET', 'kms:root') =~ s/\s+\z//r;
my $nkeys = () = grep { /^kms:key:/ } split /\n/,
                 $t->redis_cli('KEYS', 'kms:*');
$t->stop_nginx;
my $other = $t->write_root_key("$d/other.key");
$t->nginx_conf(root_key => $other);
my ($rc, $out) = $t->nginx_test;
like($out, qr/s3_kms_root_key_file: the key store in Redis \S+ belongs to another root key \(fingerprint \Q$fp\E there, [0-9a-f]{32} for "\Q$other\E"\); no key or object operation will be served/,
     'nginx -t says the key store belongs to another root key');
$t->start_nginx(keep_conf => 1, no_wait => 1);
my ($wrong) = $t->kms_wait(5, sub { $_[0]{status} == 500 }, 'ListKeys', '{}');
is($wrong->{json}{__type}, 'KMSInternalException',
   'with another root key: KMSInternalException');
like($wrong->{json}{message} // '',
     qr/^The key store belongs to another root key \(fingerprint \Q$fp\E; this server's root key has fingerprint [0-9a-f]{32}\)\. No key operation is possible\.$/,
     'which says why');
for my $call (['CreateKey', '{}'],
              ['DescribeKey', { KeyId => 'alias/rotated' }],
              ['Decrypt', { CiphertextBlob => $blob{v1},
                            EncryptionContext => $ctx }],
              ['GenerateDataKey', { KeyId => $k{rot}, KeySpec => 'AES_256' }],
              ['ScheduleKeyDeletion', { KeyId => $k{rot} }]) {
    my $r = kms(@$call);
    is($r->{status} . ' ' . ($r->{json}{__type} // ''),
       '500 KMSInternalException', "with another root key: $call->[0] refused");
    ok(!defined $r->{json}{Plaintext} && !defined $r->{json}{KeyMetadata},
       "with another root key: $call->[0] gives nothing away");
}
like($t->error_log, qr/\[emerg\].*belongs to another root key/,
     'error.log says so');
is($t->redis_cli('GET', 'kms:root') =~ s/\s+\z//r, $fp,
   'the stored fingerprint is untouched');
is(scalar(() = grep { /^kms:key:/ } split /\n/, $t->redis_cli('KEYS', 'kms:*')),
   $nkeys, 'no key was written beside the old ones');

$t->stop_nginx;
$t->nginx_conf;
$t->start_nginx(keep_conf => 1);
is_deeply(snapshot(), $before, 'with the right root key again: all is back');

# ---- backup, FLUSHALL, restore -----------------------------------------------

my $redis = '127.0.0.1:' . $t->redis_port;
my $file = "$d/keystore.backup";
my $r = $t->run([$tool, 'export', '--redis', $redis, $file]);
is($r->{rc}, 0, 's3kms-keystore export') or diag $r->{err};
is((stat $file)[2] & 07777, 0600, 'the export is mode 0600');
my $text = $t->slurp($file);
unlike($text, qr/dmVyc2lvbiBvbmU|version one/,
       'the export holds no plaintext');
$r = $t->run([$tool, 'verify', '--root-key', "$d/root.key", $file]);
is($r->{rc}, 0, 'the export verifies with the root key') or diag $r->{err};
$r = $t->run([$tool, 'verify', '--root-key', $other, $file]);
isnt($r->{rc}, 0, 'and not with another root key');

$r = $t->run([$tool, 'import', '--redis', $redis, $file]);
isnt($r->{rc}, 0, 'import refuses a Redis that holds a key store');

$t->stop_nginx;
$t->redis_cli('FLUSHALL');
is($t->redis_cli('DBSIZE') =~ s/\s+\z//r, '0', 'FLUSHALL: Redis is empty');
$r = $t->run([$tool, 'import', '--redis', $redis, $file]);
is($r->{rc}, 0, 's3kms-keystore import into the empty Redis')
    or diag $r->{err};
$t->start_nginx(keep_conf => 1);
is_deeply(snapshot(), $before,
          'after the restore every key, alias, version, tag and state is '
          . 'back');
blobs_decrypt('after the restore');
# FLUSHALL took the gateway's object index (ssek:*, a cache) too: the
# gateway reads each object's metadata from the backend again
objects_read('after the restore (object index lost)', 2);

# ---- maintenance: erase after the window, rotate when due --------------------

# a hundred days on: the deletion window (7 days) and the rotation period
# (90 days) have both passed
$t->stop_nginx;
$t->nginx_conf(http => "    s3_kms_time_offset 100d;\n"
                     . "    s3_kms_maintenance_interval 100ms;\n");
$t->start_nginx(keep_conf => 1);

my ($gone, $took) = $t->kms_wait(10, sub {
    ($_[0]{json}{__type} // '') eq 'NotFoundException' }, 'DescribeKey',
    $t->json_encode({ KeyId => $k{del} }));
is($gone->{json}{__type}, 'NotFoundException',
   'the key past its deletion window is erased');
diag sprintf('erased %.1f s after start', $took);
is($t->redis_cli('EXISTS', "kms:key:{$k{del}}") =~ s/\s+\z//r, '0',
   'its record is gone from Redis');
is($t->redis_cli('HEXISTS', 'kms:alias:{111122223333}', 'alias/doomed')
   =~ s/\s+\z//r, '0', 'and its alias');
my @aliases = map { $_->{AliasName} }
              @{kms('ListAliases', '{}')->{json}{Aliases} || []};
is_deeply(\@aliases, ['alias/disabled', 'alias/rotated'],
          'ListAliases has the other two');

my ($rot) = $t->kms_wait(10, sub {
    grep { ($_->{RotationType} // '') eq 'AUTOMATIC' }
        @{$_[0]{json}{Rotations} || []} }, 'ListKeyRotations',
    $t->json_encode({ KeyId => $k{rot} }));
my @types = map { $_->{RotationType} // 'initial' }
            @{$rot->{json}{Rotations} || []};
is_deeply(\@types, ['ON_DEMAND', 'AUTOMATIC'],
          'the key due for rotation was rotated automatically');
my $st = kms('GetKeyRotationStatus', { KeyId => $k{rot} })->{json};
cmp_ok($st->{NextRotationDate} // 0, '>', time + 100 * 86400,
       'its next rotation is a period ahead of the (shifted) clock');
is(scalar(grep { $_->{KeyId} eq $k{off} }
          @{kms('ListKeys', '{}')->{json}{Keys} || []}), 1,
   'the disabled key is left alone');
blobs_decrypt('after maintenance');
my $v3 = encrypt($k{rot}, 'dGhyZWU=');
is(substr(decode_base64($v3), 17, 4), "\0\0\0\3",
   'new blobs use the third version');

sleep 0.3;                              # the audit log's flush
my @events = grep { ($_->{eventType} // '') eq 'AwsServiceEvent' }
             $t->audit_records;
my %ev = map { ("$_->{eventName} $_->{serviceEventDetails}{keyId}" => 1) }
         @events;
ok($ev{"DeleteKey $k{del}"}, 'the audit log has the DeleteKey event');
ok($ev{"RotateKey $k{rot}"}, 'and the RotateKey event');

# ---- the configuration: secret files, bad values -----------------------------

$t->stop_nginx;
$t->nginx_conf;

for my $mode (0640, 0604) {
    chmod $mode, "$d/credentials";
    ($rc, $out) = $t->nginx_test;
    isnt($rc, 0, sprintf('credentials file mode %04o: nginx -t refuses', $mode));
    like($out, qr/\[emerg\] "s3_kms_credentials" directive: credentials file "[^"]+" must be a regular file not accessible by group or others/,
         '... and names the directive');
}
chmod 0600, "$d/credentials";

chmod 0644, "$d/root.key";
($rc, $out) = $t->nginx_test;
isnt($rc, 0, 'root key file readable by others: nginx -t refuses');
like($out, qr/\[emerg\] "s3_kms_root_key_file" directive: .*group/,
     '... and names the directive');
chmod 0600, "$d/root.key";

($rc, $out) = $t->nginx_test;
is($rc, 0, 'with the modes fixed nginx -t passes') or diag $out;

my @bad = (
    's3_kms_redis 127.0.0.1:99999',
    's3_kms_redis 127.0.0.1 db=x',
    's3_kms_redis 127.0.0.1 timeout=0',
    's3_kms_redis 127.0.0.1 password_file=/nonexistent',
    's3_kms_root_key_file /nonexistent',
    's3_kms_credentials /nonexistent',
    's3_kms_region US_EAST',
    's3_kms_audit_log /tmp/x buffer=1',
    's3_kms_audit_log /tmp/x flush=0',
    's3_kms_audit_log /tmp/x bogus=1',
    's3_kms_quota lots',
    's3_kms_quota 10r/s burst=x',
    's3_kms_secure_heap big',
    's3_kms_secure_heap 1k',
    's3_kms_maintenance_interval soon',
    's3_kms_maintenance_interval 0',
    's3_kms_time_offset later',
    's3_kms_api_max_body huge',
    's3_kms_api_max_body 1k',
);
for my $bad (@bad) {
    my ($name) = $bad =~ /^(\S+)/;
    my $conf = $t->slurp($t->nginx_conf(http => "    $bad;\n"));
    # replace the template's own line for the directives it has
    $conf =~ s/^\s*\Q$name\E .*\n//m
        if (() = $conf =~ /^\s*\Q$name\E /mg) > 1;
    open my $f, '>', "$d/nginx.conf" or die $!;
    print $f $conf;
    close $f;
    ($rc, $out) = $t->nginx_test;
    ok($rc != 0 && $out =~ /\[emerg\] "\Q$name\E" directive/,
       "nginx -t refuses \"$bad\" and names the directive")
        or diag $out;
}
{
    my $conf = $t->slurp($t->nginx_conf);
    $conf =~ s/s3_kms_api;/s3_kms_api on;/;
    open my $f, '>', "$d/nginx.conf" or die $!;
    print $f $conf;
    close $f;
    ($rc, $out) = $t->nginx_test;
    ok($rc != 0 && $out =~ /"s3_kms_api" directive/,
       'nginx -t refuses "s3_kms_api on" and names the directive')
        or diag $out;
}

$t->nginx_conf;
$t->done;
