# The KMS API with the AWS SDKs (issue 2, acceptance 3): boto3 and the AWS
# SDK for JavaScript v3 each do the core round trip (keys, alias, encrypt /
# decrypt with a context, data keys, re-encryption, describe); the AWS
# Encryption SDK for JavaScript encrypts and decrypts a 10 MiB message with
# a KMS keyring whose client talks to our endpoint.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use S3KMS::Test;

my $t = S3KMS::Test->new;
$t->start_redis;
$t->start_nginx;

my $endpoint = $t->kms_endpoint;
my $account = $t->cred('alice')->[2];
my $arn_re = qr{^arn:aws:kms:us-east-1:$account:key/[0-9a-f-]{36}$};

# ---- boto3 -----------------------------------------------------------------

my $boto3 = <<'PY';
import base64, json, os, sys
import boto3, botocore

kms = boto3.client('kms', endpoint_url=sys.argv[1])
out = {}
b64 = lambda b: base64.b64encode(b).decode()

def failure(fn, **kw):
    try:
        fn(**kw)
        return 'no error'
    except botocore.exceptions.ClientError as e:
        return e.response['Error']['Code']

k1 = kms.create_key(Description='boto3 one')['KeyMetadata']
k2 = kms.create_key(Description='boto3 two')['KeyMetadata']
out['key1'] = {k: v for k, v in k1.items() if k != 'CreationDate'}
out['key2_arn'] = k2['Arn']
alias = 'alias/boto3-' + os.urandom(4).hex()
kms.create_alias(AliasName=alias, TargetKeyId=k1['KeyId'])
out['alias'] = alias
out['describe_alias'] = kms.describe_key(KeyId=alias)['KeyMetadata']['Arn']

ctx = {'purpose': 'sdk-test', 'owner': 'boto3'}
pt = os.urandom(100)
out['plaintext'] = b64(pt)
enc = kms.encrypt(KeyId=alias, Plaintext=pt, EncryptionContext=ctx)
out['encrypt_key'] = enc['KeyId']
dec = kms.decrypt(CiphertextBlob=enc['CiphertextBlob'],
                  EncryptionContext={'owner': 'boto3', 'purpose': 'sdk-test'})
out['decrypted'] = b64(dec['Plaintext'])
out['decrypt_key'] = dec['KeyId']
out['wrong_context'] = failure(kms.decrypt,
                               CiphertextBlob=enc['CiphertextBlob'],
                               EncryptionContext={'owner': 'boto3'})

dk = kms.generate_data_key(KeyId=k1['Arn'], KeySpec='AES_256',
                           EncryptionContext=ctx)
out['data_key'] = b64(dk['Plaintext'])
out['data_key_id'] = dk['KeyId']
out['data_key_decrypted'] = b64(kms.decrypt(
    CiphertextBlob=dk['CiphertextBlob'], EncryptionContext=ctx)['Plaintext'])

re = kms.re_encrypt(CiphertextBlob=enc['CiphertextBlob'],
                    SourceEncryptionContext=ctx,
                    DestinationKeyId=k2['KeyId'],
                    DestinationEncryptionContext={'moved': 'yes'})
out['reencrypt_source'] = re['SourceKeyId']
out['reencrypt_key'] = re['KeyId']
redec = kms.decrypt(CiphertextBlob=re['CiphertextBlob'],
                    EncryptionContext={'moved': 'yes'})
out['reencrypted_decrypted'] = b64(redec['Plaintext'])
out['reencrypted_decrypt_key'] = redec['KeyId']
out['reencrypted_old_context'] = failure(kms.decrypt,
                                         CiphertextBlob=re['CiphertextBlob'],
                                         EncryptionContext=ctx)

d = kms.describe_key(KeyId=k2['Arn'])['KeyMetadata']
out['describe'] = {k: v for k, v in d.items() if k != 'CreationDate'}
out['describe_date_type'] = type(d['CreationDate']).__name__
print(json.dumps(out))
PY

# Both SDKs' answers are judged alike.
sub round_trip_ok {
    my ($sdk, $r) = @_;

    ok($r->{rc} == 0 && $r->{json}, "$sdk: the round trip ran")
        or diag "rc=$r->{rc}\n$r->{err}$r->{out}";
    my $o = $r->{json} or return;

    my $k1 = $o->{key1}{Arn} // '';
    like($k1, $arn_re, "$sdk: create-key answers a key ARN");
    is($o->{key1}{KeyState}, 'Enabled', "$sdk: the new key is Enabled");
    is($o->{describe_alias}, $k1,
       "$sdk: describe-key by alias finds the key");
    is($o->{encrypt_key}, $k1, "$sdk: encrypt through the alias uses the key");
    is($o->{decrypted}, $o->{plaintext},
       "$sdk: decrypt with the context in another order gives the plaintext");
    is($o->{decrypt_key}, $k1, "$sdk: decrypt names the key");
    is($o->{wrong_context}, 'InvalidCiphertextException',
       "$sdk: another context is refused");
    is(length($o->{data_key} // ''), 44, "$sdk: a 32-byte data key");
    is($o->{data_key_id}, $k1, "$sdk: generate-data-key names the key");
    is($o->{data_key_decrypted}, $o->{data_key},
       "$sdk: the data key's blob decrypts to the data key");
    my $k2 = $o->{key2_arn} // '';
    is($o->{reencrypt_source}, $k1, "$sdk: re-encrypt names the source key");
    is($o->{reencrypt_key}, $k2, "$sdk: and the destination key");
    is($o->{reencrypted_decrypted}, $o->{plaintext},
       "$sdk: the re-encrypted blob decrypts to the plaintext");
    is($o->{reencrypted_decrypt_key}, $k2,
       "$sdk: under the destination key");
    is($o->{reencrypted_old_context}, 'InvalidCiphertextException',
       "$sdk: the re-encrypted blob wants the destination context");
    is($o->{describe}{Arn}, $k2, "$sdk: describe-key by ARN");
    is($o->{describe}{KeyManager}, 'CUSTOMER',
       "$sdk: describe-key shows a customer managed key");
    is_deeply($o->{describe}{EncryptionAlgorithms}, ['SYMMETRIC_DEFAULT'],
              "$sdk: describe-key lists the algorithm");
}

my $py = $t->python($boto3, args => [$endpoint]);
round_trip_ok('boto3', $py);
is($py->{json}{describe_date_type}, 'datetime',
   'boto3: CreationDate parses as a date (epoch seconds)');

# ---- the AWS SDK for JavaScript v3 -------------------------------------------

my $js = $t->node("$S3KMS::Test::TOP/t/js/kms-roundtrip.mjs",
                  args => [$endpoint]);
if ($js->{json}) {
    $js->{json}{describe_alias} = $js->{json}{describe_alias}{Arn};
    $js->{json}{key2_arn} = $js->{json}{key2}{Arn};
}
round_trip_ok('sdk-js-v3', $js);
like($js->{json}{describe}{CreationDate} // '', qr/^\d{4}-\d\d-\d\dT/,
     'sdk-js-v3: CreationDate parses as a date');

# ---- the AWS Encryption SDK for JavaScript -----------------------------------

my $k = $t->aws(qw(kms create-key --description esdk));
my $k_other = $t->aws(qw(kms create-key --description esdk-other));
my $arn = $k->{json}{KeyMetadata}{Arn};
my $other = $k_other->{json}{KeyMetadata}{Arn};
ok($arn && $other, 'two keys for the Encryption SDK');

my $e = $t->node("$S3KMS::Test::TOP/t/js/kms-esdk.mjs",
                 args => [$endpoint, $arn, $other, 10]);
ok($e->{rc} == 0 && $e->{json}, 'the Encryption SDK ran')
    or diag "rc=$e->{rc}\n$e->{err}$e->{out}";
my $o = $e->{json} // {};
is($o->{plaintext_len}, 10 * 1024 * 1024, 'a 10 MiB message');
ok($o->{ciphertext_len} && $o->{ciphertext_len} > $o->{plaintext_len},
   'encrypted into a longer message');
ok(defined $o->{ciphertext_has_plaintext} && !$o->{ciphertext_has_plaintext},
   'the message does not hold the plaintext');
is($o->{decrypted_len}, $o->{plaintext_len}, 'decrypted to the same length');
ok($o->{plaintext_sha} && $o->{decrypted_sha} eq $o->{plaintext_sha},
   'decrypted byte-identical');
is_deeply($o->{provider_info}, [$arn],
          'the message\'s data key is wrapped under our key ARN');
is($o->{context}{purpose}, 'esdk-test',
   'the encryption context travels in the message');
is($o->{other_key}, 'refused', 'a keyring of another key cannot decrypt');
is($o->{damaged}, 'refused', 'a damaged message is refused');

# the KMS calls the Encryption SDK made, as the audit log has them
my @rec = $t->audit_records;
my %by = map { $_->{eventName} => 1 }
         grep { ($_->{requestParameters}{keyId} // '') eq $arn } @rec;
ok($by{GenerateDataKey} && $by{Decrypt},
   'GenerateDataKey and Decrypt on the key are in the audit log');

$t->done;
