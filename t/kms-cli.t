# The KMS API with the real aws CLI (issue 2, acceptance 2): keys, aliases,
# encryption context, data keys, re-encryption, enable/disable, rotation,
# deletion windows, limits, tags, policies between credentials and accounts.

use strict;
use warnings;
no warnings 'qw';     # "purpose=test,team=a" is one CLI argument
use lib 't/lib';
use Test::More;
use MIME::Base64;
use S3KMS::Test;

my $t = S3KMS::Test->new;
$t->start_redis;
$t->start_nginx;

my $d = $t->dir;

sub put {
    my ($name, $bytes) = @_;
    open my $f, '>:raw', "$d/$name" or die $!;
    print $f $bytes;
    close $f;
    return "fileb://$d/$name";
}

sub kms { $t->aws('kms', @_) }

sub ok_call {
    my ($r, $name) = @_;
    ok($r->{rc} == 0, $name) or diag "rc=$r->{rc}\n$r->{err}$r->{out}";
    return $r->{json} // {};
}

sub fails_with {
    my ($r, $type, $name) = @_;
    like($r->{err}, qr/\($type\)/, $name) or diag "rc=$r->{rc}\n$r->{err}$r->{out}";
}

# ---- keys and aliases ------------------------------------------------------

my $k1 = ok_call(kms(qw(create-key --description first)), 'create-key');
my $id1 = $k1->{KeyMetadata}{KeyId};
like($id1, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
     'the key id is a random UUID');
is($k1->{KeyMetadata}{Arn}, "arn:aws:kms:us-east-1:111122223333:key/$id1",
   'the key ARN names region, account and id');
is($k1->{KeyMetadata}{KeyState}, 'Enabled', 'a new key is Enabled');
is($k1->{KeyMetadata}{KeyManager}, 'CUSTOMER', 'a customer managed key');

ok_call(kms(qw(create-alias --alias-name alias/app --target-key-id), $id1),
        'create-alias');
my $desc = ok_call(kms(qw(describe-key --key-id alias/app)),
                   'describe-key by alias name');
is($desc->{KeyMetadata}{KeyId}, $id1, 'the alias resolves to its key');
fails_with(kms(qw(create-alias --alias-name alias/app --target-key-id), $id1),
           'AlreadyExistsException', 'an alias name is taken once');
fails_with(kms(qw(create-alias --alias-name alias/aws/mine --target-key-id),
               $id1),
           'NotAuthorizedException|AccessDeniedException|InvalidAliasNameException',
           'alias/aws/ is reserved');
my $aliases = ok_call(kms(qw(list-aliases --key-id), $id1),
                      'list-aliases of a key');
is_deeply([map { $_->{AliasName} } @{$aliases->{Aliases}}], ['alias/app'],
          'list-aliases shows the key\'s alias');

# ---- encryption context ----------------------------------------------------

my $enc = ok_call(kms(qw(encrypt --key-id alias/app --plaintext),
                      put('pt', 'secret message'),
                      qw(--encryption-context purpose=test,team=a)),
                  'encrypt with a context');
is($enc->{KeyId}, "arn:aws:kms:us-east-1:111122223333:key/$id1",
   'encrypt answers with the key ARN');
my $blob = put('blob', decode_base64($enc->{CiphertextBlob}));

my $dec = ok_call(kms(qw(decrypt --ciphertext-blob), $blob,
                      qw(--encryption-context team=a,purpose=test)),
                  'decrypt with the same context in another order');
is(decode_base64($dec->{Plaintext} // ''), 'secret message',
   'decrypt returns the plaintext');
fails_with(kms(qw(decrypt --ciphertext-blob), $blob,
               qw(--encryption-context purpose=test,team=b)),
           'InvalidCiphertextException', 'a changed context is refused');
fails_with(kms(qw(decrypt --ciphertext-blob), $blob),
           'InvalidCiphertextException', 'a missing context is refused');

# ---- data keys ---------------------------------------------------------------

my $dk = ok_call(kms(qw(generate-data-key --key-id), $id1,
                     qw(--key-spec AES_256)), 'generate-data-key');
is(length(decode_base64($dk->{Plaintext})), 32, 'a 256-bit data key');
my $dkblob = put('dkblob', decode_base64($dk->{CiphertextBlob}));
my $dkdec = ok_call(kms(qw(decrypt --ciphertext-blob), $dkblob),
                    'the data key blob decrypts');
is($dkdec->{Plaintext}, $dk->{Plaintext},
   'to the plaintext generate-data-key returned');

my $dkw = ok_call(kms(qw(generate-data-key-without-plaintext --key-id), $id1,
                      qw(--number-of-bytes 64)),
                  'generate-data-key-without-plaintext');
ok(!exists $dkw->{Plaintext}, 'without plaintext has no Plaintext');
fails_with(kms(qw(generate-data-key --key-id), $id1,
               qw(--key-spec AES_256 --number-of-bytes 32)),
           'ValidationException', 'KeySpec and NumberOfBytes together');

my $rnd = ok_call(kms(qw(generate-random --number-of-bytes 1024)),
                  'generate-random');
is(length(decode_base64($rnd->{Plaintext})), 1024, '1024 random bytes');
fails_with(kms(qw(generate-random --number-of-bytes 1025)),
           'ValidationException', 'generate-random caps at 1024');

# ---- re-encryption to a second key ---------------------------------------------

my $k2 = ok_call(kms(qw(create-key --description second)), 'a second key');
my $id2 = $k2->{KeyMetadata}{KeyId};
my $re = ok_call(kms(qw(re-encrypt --ciphertext-blob), $blob,
                     qw(--source-encryption-context purpose=test,team=a
                        --destination-key-id), $id2,
                     qw(--destination-encryption-context moved=yes)),
                 're-encrypt to the second key');
is($re->{SourceKeyId}, "arn:aws:kms:us-east-1:111122223333:key/$id1",
   're-encrypt names the source key');
is($re->{KeyId}, "arn:aws:kms:us-east-1:111122223333:key/$id2",
   'and the destination key');
my $reblob = put('reblob', decode_base64($re->{CiphertextBlob}));
$dec = ok_call(kms(qw(decrypt --ciphertext-blob), $reblob,
                   qw(--encryption-context moved=yes)),
               'the re-encrypted blob decrypts');
is(decode_base64($dec->{Plaintext} // ''), 'secret message',
   'to the same plaintext');
fails_with(kms(qw(decrypt --key-id), $id1, '--ciphertext-blob', $reblob,
               qw(--encryption-context moved=yes)),
           'IncorrectKeyException', 'decrypt with the wrong KeyId');

# ---- disable / enable ------------------------------------------------------------

ok_call(kms(qw(disable-key --key-id), $id1), 'disable-key');
is(ok_call(kms(qw(describe-key --key-id), $id1), 'describe')->{KeyMetadata}{KeyState},
   'Disabled', 'the key is Disabled');
fails_with(kms(qw(encrypt --key-id), $id1, '--plaintext', put('p2', 'x')),
           'DisabledException', 'a disabled key does not encrypt');
fails_with(kms(qw(decrypt --ciphertext-blob), $blob,
               qw(--encryption-context purpose=test,team=a)),
           'DisabledException', 'nor decrypt');
ok_call(kms(qw(enable-key --key-id), $id1), 'enable-key');
ok_call(kms(qw(decrypt --ciphertext-blob), $blob,
            qw(--encryption-context purpose=test,team=a)),
        'an enabled key decrypts again');

# ---- rotation -----------------------------------------------------------------------

my $before = $blob;
my $rot = ok_call(kms(qw(rotate-key-on-demand --key-id), $id1),
                  'rotate-key-on-demand');
is($rot->{KeyId}, $id1, 'rotate-key-on-demand names the key');
$dec = ok_call(kms(qw(decrypt --ciphertext-blob), $before,
                   qw(--encryption-context purpose=test,team=a)),
               'a blob made before the rotation decrypts');
is(decode_base64($dec->{Plaintext} // ''), 'secret message',
   'with the old key material');
my $enc2 = ok_call(kms(qw(encrypt --key-id), $id1, '--plaintext',
                       put('p3', 'after')), 'encrypt after rotation');
isnt(substr(decode_base64($enc2->{CiphertextBlob}), 17, 4),
     substr(decode_base64($enc->{CiphertextBlob}), 17, 4),
     'new blobs name the new key version');
my $rots = ok_call(kms(qw(list-key-rotations --key-id), $id1),
                   'list-key-rotations');
is(scalar @{$rots->{Rotations}}, 1, 'one rotation listed');
is($rots->{Rotations}[0]{RotationType}, 'ON_DEMAND', 'an on-demand one');

ok_call(kms(qw(enable-key-rotation --key-id), $id1,
            qw(--rotation-period-in-days 90)), 'enable-key-rotation');
my $st = ok_call(kms(qw(get-key-rotation-status --key-id), $id1),
                 'get-key-rotation-status');
ok($st->{KeyRotationEnabled}, 'rotation is on');
is($st->{RotationPeriodInDays}, 90, 'every 90 days');
my $r89 = $t->kms_raw('EnableKeyRotation',
                      qq({"KeyId":"$id1","RotationPeriodInDays":89}));
is($r89->{json}{__type}, 'ValidationException',
   '89 days is too short (a raw request: the CLI checks it itself)');
ok_call(kms(qw(disable-key-rotation --key-id), $id1), 'disable-key-rotation');

# ---- limits -----------------------------------------------------------------------------

fails_with(kms(qw(encrypt --key-id), $id1, '--plaintext',
               put('big', 'x' x 4097)),
           'ValidationException', 'a 4097-byte plaintext is refused');
ok_call(kms(qw(encrypt --key-id), $id1, '--plaintext', put('max', 'x' x 4096)),
        'a 4096-byte plaintext is fine');

# ---- tags ---------------------------------------------------------------------------------

ok_call(kms(qw(tag-resource --key-id), $id1,
            qw(--tags TagKey=env,TagValue=prod TagKey=team,TagValue=a)),
        'tag-resource');
my $tags = ok_call(kms(qw(list-resource-tags --key-id), $id1),
                   'list-resource-tags');
is_deeply({ map { $_->{TagKey} => $_->{TagValue} } @{$tags->{Tags}} },
          { env => 'prod', team => 'a' }, 'both tags listed');
ok_call(kms(qw(untag-resource --key-id), $id1, qw(--tag-keys team)),
        'untag-resource');
$tags = ok_call(kms(qw(list-resource-tags --key-id), $id1), 'list again');
is_deeply([map { $_->{TagKey} } @{$tags->{Tags}}], ['env'], 'one tag left');
fails_with(kms(qw(tag-resource --key-id), $id1,
               qw(--tags TagKey=aws:x,TagValue=y)),
           'TagException', 'aws: tag keys are reserved');

# ---- a policy that denies a second credential ------------------------------------------

my $policy = <<'JSON';
{"Version":"2012-10-17","Statement":[
 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"no-bob","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}
JSON
ok_call(kms(qw(put-key-policy --key-id), $id2, qw(--policy-name default --policy),
            $policy), 'put-key-policy');
ok_call(kms(qw(encrypt --key-id), $id2, '--plaintext', put('pa', 'a')),
        'alice may encrypt');
fails_with($t->aws('kms', qw(encrypt --key-id), $id2, '--plaintext',
                   "fileb://$d/pa", { as => 'bob' }),
           'AccessDeniedException', 'bob is denied by the policy');
my $gp = ok_call(kms(qw(get-key-policy --key-id), $id2,
                     qw(--policy-name default)), 'get-key-policy');
like($gp->{Policy}, qr/no-bob/, 'the policy reads back');

# ---- a cross-account grant through a key policy -----------------------------------------

my $k3 = ok_call(kms(qw(create-key --description shared)), 'a key to share');
my $arn3 = $k3->{KeyMetadata}{Arn};
my $id3 = $k3->{KeyMetadata}{KeyId};
my $share = <<'JSON';
{"Version":"2012-10-17","Statement":[
 {"Sid":"owner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"carol-account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"},
 {"Sid":"dave-decrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:user/dave"},"Action":"kms:Decrypt","Resource":"*"}]}
JSON
fails_with($t->aws('kms', qw(encrypt --key-id), $arn3, '--plaintext',
                   "fileb://$d/pa", { as => 'carol' }),
           'AccessDeniedException', 'before the grant, another account is denied');
ok_call(kms(qw(put-key-policy --key-id), $id3, qw(--policy-name default --policy),
            $share), 'share the key with two other accounts');
my $ce = ok_call($t->aws('kms', qw(encrypt --key-id), $arn3, '--plaintext',
                         "fileb://$d/pa", { as => 'carol' }),
                 'carol (account 4444) encrypts with the key ARN');
fails_with($t->aws('kms', qw(encrypt --key-id), $id3, '--plaintext',
                   "fileb://$d/pa", { as => 'carol' }),
           'NotFoundException', 'a bare key id resolves in the caller\'s account');
my $cblob = put('cblob', decode_base64($ce->{CiphertextBlob} // ''));
my $dd = ok_call($t->aws('kms', qw(decrypt --ciphertext-blob), $cblob,
                         { as => 'dave' }),
                 'dave (account 7777) decrypts what carol encrypted');
is(decode_base64($dd->{Plaintext} // ''), 'a', 'the cross-account round trip');
fails_with($t->aws('kms', qw(encrypt --key-id), $arn3, '--plaintext',
                   "fileb://$d/pa", { as => 'dave' }),
           'AccessDeniedException', 'dave may decrypt but not encrypt');
fails_with($t->aws('kms', qw(disable-key --key-id), $arn3, { as => 'carol' }),
           'NotFoundException|AccessDeniedException',
           'the other account cannot manage the key');

# ---- deletion ---------------------------------------------------------------------------

my $sd = ok_call(kms(qw(schedule-key-deletion --key-id), $id2,
                     qw(--pending-window-in-days 7)), 'schedule-key-deletion');
is($sd->{KeyState}, 'PendingDeletion', 'the key is PendingDeletion');
is($sd->{PendingWindowInDays}, 7, 'for 7 days');
fails_with(kms(qw(encrypt --key-id), $id2, '--plaintext', put('pd', 'x')),
           'KMSInvalidStateException', 'a key pending deletion does not encrypt');
fails_with(kms(qw(schedule-key-deletion --key-id), $id1,
               qw(--pending-window-in-days 6)),
           'ValidationException', 'a 6-day window is too short');
ok_call(kms(qw(cancel-key-deletion --key-id), $id2), 'cancel-key-deletion');
is(ok_call(kms(qw(describe-key --key-id), $id2), 'describe')->{KeyMetadata}{KeyState},
   'Disabled', 'a cancelled deletion leaves the key Disabled');
ok_call(kms(qw(enable-key --key-id), $id2), 'and it can be enabled');

# ---- the AWS managed key ------------------------------------------------------------------

my $s3k = ok_call(kms(qw(describe-key --key-id alias/aws/s3)),
                  'describe-key alias/aws/s3 creates the AWS managed key');
is($s3k->{KeyMetadata}{KeyManager}, 'AWS', 'managed by AWS');
fails_with(kms(qw(disable-key --key-id), $s3k->{KeyMetadata}{KeyId}),
           'AccessDeniedException|UnsupportedOperationException|NotAuthorizedException',
           'the AWS managed key cannot be disabled');

# ---- the audit log -----------------------------------------------------------------------

my @audit = $t->audit_records(40);
ok(@audit >= 40, 'every call is in the audit log') or diag scalar @audit;
my ($denied) = grep { ($_->{errorCode} // '') eq 'AccessDeniedException' } @audit;
ok($denied, 'refused calls are audited too');
is($denied->{eventSource}, 'kms.amazonaws.com', 'in CloudTrail\'s shape');
my $all = $t->audit_log;
unlike($all, qr/secret message|c2VjcmV0IG1lc3NhZ2U/,
       'no plaintext in the audit log');

$t->done;
