// The AWS SDK for JavaScript v3 (@aws-sdk/client-s3) through the gateway,
// run by t/gw-js.t:
//
//   node gw-s3.mjs ENDPOINT BUCKET PREFIX KEY_ARN DATADIR SIZES
//
// Reads its objects from DATADIR/f-SIZE; prints one JSON array of
// {ok, name, info} results.

import { readFileSync, createReadStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
    S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
    HeadObjectCommand, DeleteObjectCommand, ListObjectsV2Command,
} from '@aws-sdk/client-s3';

const [endpoint, bucket, prefix, keyArn, datadir, sizesArg] =
    process.argv.slice(2);
const sizes = sizesArg.split(',').map(Number);
const res = [];

function ok(cond, name, info = '') {
    res.push({ ok: !!cond, name: `${prefix}: ${name}`,
               info: String(info).slice(0, 400) });
}

const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
});

const data = (n) => readFileSync(`${datadir}/f-${n}`);
const md5 = (b) => createHash('md5').update(b).digest('hex');

async function body(out) {
    return Buffer.from(await out.Body.transformToByteArray());
}

try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    ok(true, 'CreateBucket');
} catch (e) {
    ok(e.name === 'BucketAlreadyOwnedByYou', 'CreateBucket', e);
}

for (const n of sizes) {
    const b = data(n);
    const key = `${prefix}/${n}`;
    try {
        const put = await s3.send(new PutObjectCommand({
            Bucket: bucket, Key: key, Body: b }));
        ok(put.ServerSideEncryption === 'AES256', `put ${n}: AES256`,
           put.ServerSideEncryption);
        ok(put.ETag === `"${md5(b)}"`, `put ${n}: the ETag is the MD5`,
           put.ETag);
        const get = await s3.send(new GetObjectCommand({
            Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        const got = await body(get);
        ok(got.equals(b), `get ${n} with checksum mode: same bytes`,
           got.length);
        ok(get.ContentLength === n, `get ${n}: ContentLength`,
           get.ContentLength);
        const head = await s3.send(new HeadObjectCommand({
            Bucket: bucket, Key: key }));
        ok(head.ContentLength === n && head.ETag === put.ETag,
           `head ${n}: length and ETag`, JSON.stringify(head));
    } catch (e) {
        ok(false, `size ${n}`, e.stack);
    }
}

// a stream body: the SDK sends it aws-chunked with a checksum trailer
{
    const n = sizes[sizes.length - 1];
    const path = `${datadir}/f-${n}`;
    try {
        await s3.send(new PutObjectCommand({
            Bucket: bucket, Key: `${prefix}/stream`,
            Body: createReadStream(path), ContentLength: statSync(path).size,
            ChecksumAlgorithm: 'CRC32' }));
        const got = await body(await s3.send(new GetObjectCommand({
            Bucket: bucket, Key: `${prefix}/stream` })));
        ok(got.equals(data(n)), 'a stream body with a CRC32 checksum');
    } catch (e) {
        ok(false, 'stream body', e.stack);
    }
}

// SSE-KMS, a context, user metadata, ranges
{
    const n = sizes[sizes.length - 1];
    const b = data(n);
    const ctx = Buffer.from('{"sdk":"js"}').toString('base64');
    try {
        const put = await s3.send(new PutObjectCommand({
            Bucket: bucket, Key: `${prefix}/kms`, Body: b,
            ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn,
            SSEKMSEncryptionContext: ctx, Metadata: { lang: 'js' } }));
        ok(put.ServerSideEncryption === 'aws:kms' && put.SSEKMSKeyId === keyArn,
           'put aws:kms: the key ARN', JSON.stringify(put));
        const get = await s3.send(new GetObjectCommand({
            Bucket: bucket, Key: `${prefix}/kms` }));
        ok((await body(get)).equals(b), 'get aws:kms: same bytes');
        ok(get.Metadata && get.Metadata.lang === 'js' &&
           Object.keys(get.Metadata).length === 1,
           'get aws:kms: user metadata only', JSON.stringify(get.Metadata));
        for (const [a, z] of [[65535, 65536], [0, 0], [n - 1, n - 1],
                              [70000, n - 1]]) {
            const r = await s3.send(new GetObjectCommand({
                Bucket: bucket, Key: `${prefix}/kms`,
                Range: `bytes=${a}-${z}` }));
            ok((await body(r)).equals(b.subarray(a, z + 1)) &&
               r.ContentRange === `bytes ${a}-${z}/${n}`,
               `get bytes=${a}-${z}`, r.ContentRange);
        }
        try {
            await s3.send(new GetObjectCommand({
                Bucket: bucket, Key: `${prefix}/kms`,
                Range: `bytes=${n}-` }));
            ok(false, 'a range past the end');
        } catch (e) {
            ok(e.name === 'InvalidRange' && e.$metadata.httpStatusCode === 416,
               'a range past the end: InvalidRange, 416', e.name);
        }
    } catch (e) {
        ok(false, 'aws:kms', e.stack);
    }
}

// errors, listing, delete
try {
    await s3.send(new GetObjectCommand({ Bucket: bucket,
                                         Key: `${prefix}/missing` }));
    ok(false, 'NoSuchKey');
} catch (e) {
    ok(e.name === 'NoSuchKey', 'a missing key: NoSuchKey', e.name);
}
try {
    await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: `${prefix}/bad`, Body: 'x',
        ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/none' }));
    ok(false, 'KMS.NotFoundException');
} catch (e) {
    ok(e.name === 'KMS.NotFoundException',
       'an unknown key: KMS.NotFoundException', e.name);
}
try {
    const l = await s3.send(new ListObjectsV2Command({
        Bucket: bucket, Prefix: `${prefix}/` }));
    ok(l.Contents && l.Contents.some((c) => c.Key === `${prefix}/kms`),
       'ListObjectsV2');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket,
                                            Key: `${prefix}/kms` }));
    ok(true, 'DeleteObject');
} catch (e) {
    ok(false, 'list and delete', e.stack);
}

console.log(JSON.stringify(res));
