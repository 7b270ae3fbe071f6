// The core KMS round trip with the AWS SDK for JavaScript v3, against the
// endpoint given as the first argument (credentials and region from the
// environment).  Prints one JSON object of what it observed; the Perl
// test (t/kms-sdk.t) judges it.

import {
  KMSClient, CreateKeyCommand, CreateAliasCommand, DescribeKeyCommand,
  EncryptCommand, DecryptCommand, GenerateDataKeyCommand,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';

const endpoint = process.argv[2];
const kms = new KMSClient({ endpoint, region: process.env.AWS_REGION });
const out = {};
const b64 = (u) => Buffer.from(u).toString('base64');

async function failure(cmd) {
  try {
    await kms.send(cmd);
    return 'no error';
  } catch (e) {
    return e.name;
  }
}

const k1 = await kms.send(new CreateKeyCommand({ Description: 'js one' }));
const k2 = await kms.send(new CreateKeyCommand({ Description: 'js two' }));
out.key1 = k1.KeyMetadata;
out.key2 = k2.KeyMetadata;

const alias = 'alias/js-' + randomBytes(4).toString('hex');
await kms.send(new CreateAliasCommand({ AliasName: alias,
                                        TargetKeyId: k1.KeyMetadata.KeyId }));
out.alias = alias;
out.describe_alias = (await kms.send(new DescribeKeyCommand({
  KeyId: alias }))).KeyMetadata;

const ctx = { purpose: 'sdk-test', owner: 'js' };
const pt = randomBytes(100);
out.plaintext = b64(pt);
const enc = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: pt,
                                                EncryptionContext: ctx }));
out.encrypt_key = enc.KeyId;
const dec = await kms.send(new DecryptCommand({
  CiphertextBlob: enc.CiphertextBlob,
  EncryptionContext: { owner: 'js', purpose: 'sdk-test' } }));
out.decrypted = b64(dec.Plaintext);
out.decrypt_key = dec.KeyId;
out.wrong_context = await failure(new DecryptCommand({
  CiphertextBlob: enc.CiphertextBlob,
  EncryptionContext: { owner: 'js', purpose: 'other' } }));

const dk = await kms.send(new GenerateDataKeyCommand({
  KeyId: k1.KeyMetadata.Arn, KeySpec: 'AES_256', EncryptionContext: ctx }));
out.data_key = b64(dk.Plaintext);
out.data_key_id = dk.KeyId;
const dkdec = await kms.send(new DecryptCommand({
  CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ctx }));
out.data_key_decrypted = b64(dkdec.Plaintext);

const re = await kms.send(new ReEncryptCommand({
  CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ctx,
  DestinationKeyId: k2.KeyMetadata.KeyId,
  DestinationEncryptionContext: { moved: 'yes' } }));
out.reencrypt_source = re.SourceKeyId;
out.reencrypt_key = re.KeyId;
const redec = await kms.send(new DecryptCommand({
  CiphertextBlob: re.CiphertextBlob, EncryptionContext: { moved: 'yes' } }));
out.reencrypted_decrypted = b64(redec.Plaintext);
out.reencrypted_decrypt_key = redec.KeyId;
out.reencrypted_old_context = await failure(new DecryptCommand({
  CiphertextBlob: re.CiphertextBlob, EncryptionContext: ctx }));

out.describe = (await kms.send(new DescribeKeyCommand({
  KeyId: k2.KeyMetadata.Arn }))).KeyMetadata;

console.log(JSON.stringify(out));
