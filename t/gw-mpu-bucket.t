# Multipart uploads under bucket default encryption and S3 Bucket Keys:
# CreateMultipartUpload without SSE headers takes the bucket's default (or
# the location's); with a bucket key (the default's, or asked for in the
# headers) the upload's key derives from the requester's bucket key as
# DESIGN.md section 3 says (ssek-dek is the bucket key's blob, ssek-bk the
# object's salt, checked here by deriving the key and each segment's
# commitment from the KMS-decrypted bucket key), UploadPart and GET derive
# it the same way, and Create, UploadPart, Complete, GET and HEAD answer
# -bucket-key-enabled: true.  ListMultipartUploads passes through.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64;
use Digest::SHA qw(hmac_sha256);
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-mpu-bucket');
$t->start_redis;
$t->start_moto;

# a second gateway whose location defaults to a bucket key
my $port2 = S3KMS::Test::free_port();
$t->start_nginx(vars => { S3_PORT2 => $port2 }, http => <<'EOF');
    server {
        listen 127.0.0.1:%%S3_PORT2%%;
        client_max_body_size 0;
        location / {
            s3_kms_gateway on;
            s3_kms_backend %%BACKEND%% %%BACKEND_KEY%%;
            s3_kms_default_encryption aws:kms alias/mpu-loc bucket_key;
        }
    }
EOF

my $d = $t->dir;
my $M = 1024 * 1024;

sub rcli { my $x = $t->redis_cli(@_) // ''; $x =~ s/\s+\z//; return $x }
sub redis { $t->redis_cmd(@_) }
sub hash_of { my %h = @{ redis('HGETALL', $_[0]) || [] }; \%h }

sub create_key {
    my $r = $t->aws('kms', 'create-key', '--description', $_[0]);
    return $r->{json}{KeyMetadata};
}

sub req { $t->s3_request(@_) }

sub create {
    my ($b, $k, %h) = @_;
    my $r = req(method => 'POST', bucket => $b, key => $k,
                query => { uploads => '' }, headers => \%h);
    my ($id) = ($r->{body} // '') =~ m{<UploadId>([^<]+)</UploadId>};
    return ($id, $r);
}

sub part {
    my ($b, $k, $id, $n, $data) = @_;
    return req(method => 'PUT', bucket => $b, key => $k,
               query => { partNumber => $n, uploadId => $id }, body => $data);
}

sub complete {
    my ($b, $k, $id, @parts) = @_;
    my $xml = '<CompleteMultipartUpload>'
            . join('', map { "<Part><PartNumber>$_->[0]</PartNumber>"
                             . "<ETag>$_->[1]</ETag></Part>" } @parts)
            . '</CompleteMultipartUpload>';
    return req(method => 'POST', bucket => $b, key => $k,
               query => { uploadId => $id }, body => $xml);
}

# uploads @data as parts 1.. and completes: the last answer
sub upload {
    my ($b, $k, $id, @data) = @_;
    my (@parts, @answers);
    for my $i (0 .. $#data) {
        my $r = part($b, $k, $id, $i + 1, $data[$i]);
        push @answers, $r;
        push @parts, [$i + 1, $r->{headers}{etag} // 'none'];
    }
    return (complete($b, $k, $id, @parts), @answers);
}

# the segments of a stored object: [p, L, salt, commitment]
sub segments {
    my ($stored) = @_;
    my (@s, $off);
    for ($off = 0; $off + 72 <= length $stored; ) {
        my ($magic, undef, undef, $k, undef, $len, $p, undef, $salt, $cm)
            = unpack 'a4 C C C C Q> N N a16 a32', substr($stored, $off, 72);
        return () unless $magic eq 'SSEK';
        my $n = $len == 0 ? 1 : int(($len + (1 << $k) - 1) / (1 << $k));
        push @s, [$p, $len, $salt, $cm];
        $off += 72 + $len + 16 * $n;
    }
    return $off == length $stored ? @s : ();
}

# HKDF-SHA256 of 32 bytes (RFC 5869: one block)
sub hkdf32 {
    my ($ikm, $salt, $info) = @_;
    my $prk = hmac_sha256($ikm, $salt);
    return hmac_sha256($info . "\x01", $prk);
}

# GenerateDataKey records under a bucket's ARN (so: bucket keys)
sub bucket_gdks {
    my ($bucket) = @_;
    sleep 0.3;
    return grep {
        $_->{eventName} eq 'GenerateDataKey'
        && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
           eq "arn:aws:s3:::$bucket"
    } $t->audit_records;
}

my $k1 = create_key('mpu bucket default');
my $k2 = create_key('mpu bucket keys');
ok($k1 && $k2, 'two KMS keys');

my $p1 = $t->bytes(5 * $M, 'bk p1');
my $p2 = $t->bytes(5 * $M + 5, 'bk p2');
my $p3 = $t->bytes(100000, 'bk p3');
my $whole = $p1 . $p2 . $p3;

# ---- a bucket default without a bucket key ------------------------------------------------

my $BD = 'mpu-default';
my $r = $t->s3(qw(s3 mb), "s3://$BD");
$r = $t->s3('s3api', 'put-bucket-encryption', '--bucket', $BD,
            '--server-side-encryption-configuration',
            '{"Rules":[{"ApplyServerSideEncryptionByDefault":'
            . '{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"' . $k1->{KeyId}
            . '"}}]}');
is($r->{rc}, 0, 'put-bucket-encryption: aws:kms under a key of its own')
    or diag $r->{err};

my ($id, $cr) = create($BD, 'obj');
is($cr->{status}, 200, 'CreateMultipartUpload without SSE headers') or diag $cr->{body};
is($cr->{headers}{'x-amz-server-side-encryption'}, 'aws:kms',
   '... answers aws:kms: the bucket default');
is($cr->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k1->{Arn},
   '... under the default\'s key');
ok(!exists $cr->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'},
   '... no bucket key');
my $st = hash_of("ssek:mpu:{$id}");
is_deeply([@$st{qw(alg arn)}], ['aws:kms', $k1->{Arn}],
          '... the upload\'s state: aws:kms, the default\'s key');
ok(!length($st->{bk} // ''), '... and no bucket-key salt');

my ($cm, @pa) = upload($BD, 'obj', $id, $p1, $p3);
is($cm->{status}, 200, 'its parts and Complete') or diag $cm->{body};
is($pa[0]{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k1->{Arn},
   '... UploadPart answers the default\'s key');
is($cm->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k1->{Arn},
   '... and Complete');
$r = req(method => 'GET', bucket => $BD, key => 'obj');
ok($r->{status} == 200 && $r->{body} eq $p1 . $p3, 'GET: byte-identical');
my $b = $t->backend_get($BD, 'obj');
is($b->{headers}{'x-amz-meta-ssek-key'}, $k1->{Arn},
   'the backend object: ssek-key is the default\'s');
ok(!exists $b->{headers}{'x-amz-meta-ssek-bk'}, '... no ssek-bk');
is_deeply([map { [$_->[0], $_->[1]] } segments($b->{body})],
          [[1, 5 * $M], [2, 100000]], '... two segments, p = 1, 2');

# a plain aws s3 cp, multipart
my $cli = $t->make_file('cli', 9 * $M + 7);
$r = $t->s3('s3', 'cp', $cli, "s3://$BD/cli");
is($r->{rc}, 0, 'aws s3 cp of 9 MiB, no SSE options') or diag $r->{err};
$r = $t->s3(qw(s3api head-object --bucket), $BD, qw(--key cli));
ok(($r->{json}{ServerSideEncryption} // '') eq 'aws:kms'
   && ($r->{json}{SSEKMSKeyId} // '') eq $k1->{Arn}
   && $r->{json}{ContentLength} == 9 * $M + 7,
   '... head-object: aws:kms under the default\'s key, the plaintext length')
    or diag $r->{out};
is(scalar(segments($t->backend_get($BD, 'cli')->{body})), 2,
   '... stored in two parts');

# ---- a bucket default with S3 Bucket Keys -----------------------------------------------------

my $BK = 'mpu-bkeys';
$t->s3(qw(s3 mb), "s3://$BK");
$r = $t->s3('s3api', 'put-bucket-encryption', '--bucket', $BK,
            '--server-side-encryption-configuration',
            '{"Rules":[{"ApplyServerSideEncryptionByDefault":'
            . '{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"' . $k2->{Arn}
            . '"},"BucketKeyEnabled":true}]}');
is($r->{rc}, 0, 'put-bucket-encryption: aws:kms, BucketKeyEnabled')
    or diag $r->{err};

$r = req(method => 'PUT', bucket => $BK, key => 'single', body => 'one part');
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   'a single PUT takes a bucket key');
my $single = $t->backend_get($BK, 'single');
my $gdks = () = bucket_gdks($BK);

($id, $cr) = create($BK, 'obj');
is($cr->{status}, 200, 'CreateMultipartUpload without SSE headers') or diag $cr->{body};
is($cr->{headers}{'x-amz-server-side-encryption'}, 'aws:kms', '... aws:kms');
is($cr->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k2->{Arn},
   '... the default\'s key');
is($cr->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answers -bucket-key-enabled: true');
$st = hash_of("ssek:mpu:{$id}");
is(length decode_base64($st->{bk} // ''), 16,
   '... the upload\'s state holds a 16-byte object salt');
is($st->{dek}, $single->{headers}{'x-amz-meta-ssek-dek'},
   '... and the bucket key\'s blob: the single PUT\'s, cached');
is(scalar(() = bucket_gdks($BK)), $gdks, '... no GenerateDataKey for it');

# ListMultipartUploads passes through
my ($id2) = create($BK, 'other/up');
$r = req(method => 'GET', bucket => $BK, query => { uploads => '' });
is($r->{status}, 200, 'ListMultipartUploads: 200');
like($r->{body}, qr{<ListMultipartUploadsResult}, '... the backend\'s document');
my %ups;
while ($r->{body} =~ m{<Upload>(.*?)</Upload>}gs) {
    my $u = $1;
    my ($k) = $u =~ m{<Key>([^<]*)</Key>};
    my ($i) = $u =~ m{<UploadId>([^<]*)</UploadId>};
    $ups{$k} = $i;
}
is_deeply(\%ups, { obj => $id, 'other/up' => $id2 }, '... both uploads, by key');
$r = req(method => 'GET', bucket => $BK, query => { uploads => '', prefix => 'other/' });
ok($r->{body} =~ m{<UploadId>\Q$id2\E</UploadId>}
   && $r->{body} !~ m{<UploadId>\Q$id\E</UploadId>}, '... with a prefix');
$r = req(method => 'DELETE', bucket => $BK, key => 'other/up',
         query => { uploadId => $id2 });
is($r->{status}, 204, 'AbortMultipartUpload of the other');
is(redis('EXISTS', "ssek:mpu:{$id2}"), 0, '... its state gone');

my ($pr1, $pr2, $pr3);
($cm, $pr1, $pr2, $pr3) = upload($BK, 'obj', $id, $p1, $p2, $p3);
ok(!grep({ ($_->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}
            // '') ne 'true' } $pr1, $pr2, $pr3),
   'UploadPart answers -bucket-key-enabled: true, each part');
is($pr2->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k2->{Arn},
   '... and the key');
is($cm->{status}, 200, 'Complete') or diag $cm->{body};
is($cm->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answers -bucket-key-enabled: true');
is(scalar(() = bucket_gdks($BK)), $gdks,
   '... the whole upload without a GenerateDataKey');
ok(!grep({ ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
           eq "arn:aws:s3:::$BK/obj" } $t->audit_records),
   '... nor any KMS call under the object\'s ARN');

$b = $t->backend_get($BK, 'obj');
my $h = $b->{headers};
is($h->{'x-amz-meta-ssek-bk'}, $st->{bk}, 'the backend object: ssek-bk is the salt');
is($h->{'x-amz-meta-ssek-dek'}, $single->{headers}{'x-amz-meta-ssek-dek'},
   '... ssek-dek the bucket key\'s blob');
is($h->{'x-amz-meta-ssek-key'}, $k2->{Arn}, '... ssek-key');
ok(!exists $h->{'x-amz-meta-ssek-len'}, '... no ssek-len (multipart)');
my @segs = segments($b->{body});
is_deeply([map { [$_->[0], $_->[1]] } @segs],
          [[1, 5 * $M], [2, 5 * $M + 5], [3, 100000]], '... three segments');
unlike($b->{body}, qr/\Q@{[substr($p2, 1000, 32)]}\E/, '... no plaintext');

# DESIGN.md 3, by hand: the bucket key from KMS, the object's key from it
$t->spew('blob', decode_base64($h->{'x-amz-meta-ssek-dek'}));
$r = $t->aws('kms', 'decrypt', '--ciphertext-blob', "fileb://$d/blob",
             '--encryption-context', "aws:s3:arn=arn:aws:s3:::$BK/obj");
isnt($r->{rc}, 0, 'KMS Decrypt of ssek-dek under the object\'s ARN fails');
$r = $t->aws('kms', 'decrypt', '--ciphertext-blob', "fileb://$d/blob",
             '--encryption-context', "aws:s3:arn=arn:aws:s3:::$BK");
my $bkey = decode_base64($r->{json}{Plaintext} // '');
is(length $bkey, 32, '... and under the bucket\'s: the bucket key') or diag $r->{err};
my $dek = hkdf32($bkey, decode_base64($h->{'x-amz-meta-ssek-bk'}),
                 "SSEK1 object" . "arn:aws:s3:::$BK/obj");
ok(@segs == 3 && !grep({ hkdf32($dek, $_->[2], "SSEK1 commit" . pack('N', $_->[0]))
                         ne $_->[3] } @segs),
   'each segment commits to HKDF(bucket key, ssek-bk, "SSEK1 object" || ARN)');

# reads
$r = req(method => 'GET', bucket => $BK, key => 'obj');
ok($r->{status} == 200 && $r->{body} eq $whole, 'GET: byte-identical');
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '... answers -bucket-key-enabled: true');
my ($a, $z) = (5 * $M - 10, 10 * $M + 20);
$r = req(method => 'GET', bucket => $BK, key => 'obj',
         headers => { range => "bytes=$a-$z" });
ok($r->{status} == 206 && $r->{body} eq substr($whole, $a, $z - $a + 1),
   'a range across the three parts');
$r = req(method => 'GET', bucket => $BK, key => 'obj', query => { partNumber => 2 });
ok($r->{status} == 206 && $r->{body} eq $p2, '?partNumber=2: the part');
$r = req(method => 'HEAD', bucket => $BK, key => 'obj');
ok($r->{headers}{'content-length'} == length $whole
   && ($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'} // '')
      eq 'true', 'HEAD: the plaintext length, -bucket-key-enabled: true');
my ($dec) = grep { $_->{eventName} eq 'Decrypt'
                   && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
                      =~ /^arn:aws:s3:::\Q$BK\E/ } $t->audit_records;
is($dec && $dec->{requestParameters}{encryptionContext}{'aws:s3:arn'},
   "arn:aws:s3:::$BK", 'the Decrypts are under the bucket\'s ARN');

# the index without the table: rebuilt from the segment headers
is(hash_of("ssek:obj:{$BK}:obj")->{bk}, $st->{bk}, 'the index entry keeps the salt');
redis('DEL', "ssek:obj:{$BK}:obj");
$r = req(method => 'GET', bucket => $BK, key => 'obj',
         headers => { range => "bytes=$a-$z" });
ok($r->{status} == 206 && $r->{body} eq substr($whole, $a, $z - $a + 1),
   'index flushed: a ranged GET still decrypts (the salt from the metadata)');
sleep 0.2;
my $ix = hash_of("ssek:obj:{$BK}:obj");
ok(length($ix->{parts} // '') == 3 * 80 && ($ix->{bk} // '') eq $st->{bk},
   '... the table is back in the index, with the salt');
$t->allow_log(qr/without its part table|rebuilt from|manifest-unverified/);

# bound to its name
my %meta = map { $_ => $h->{$_} } grep { /^x-amz-meta-ssek-/ } keys %$h;
$r = $t->backend_put($BK, 'moved', $b->{body}, \%meta);
is($r->{status}, 200, 'the stored object copied to another name at the backend');
$r = req(method => 'GET', bucket => $BK, key => 'moved');
$t->is_s3_error($r, 500, 'InternalError',
                '... does not decrypt there: the object ARN is in its key');
unlike($r->{body}, qr/\Q@{[substr($p1, 0, 16)]}\E/, '... no plaintext');
$t->allow_log(qr/moved/);

# aws s3 cp, multipart
$r = $t->s3('s3', 'cp', $cli, "s3://$BK/cli");
is($r->{rc}, 0, 'aws s3 cp of 9 MiB, no SSE options') or diag $r->{err};
$r = $t->s3(qw(s3api head-object --bucket), $BK, qw(--key cli));
ok($r->{json}{BucketKeyEnabled} && ($r->{json}{SSEKMSKeyId} // '') eq $k2->{Arn},
   '... head-object: BucketKeyEnabled, the default\'s key') or diag $r->{out};
$r = $t->s3('s3', 'cp', "s3://$BK/cli", "$d/cli.out");
ok($r->{rc} == 0 && $t->slurp("$d/cli.out") eq $t->slurp($cli),
   '... and back, byte-identical') or diag $r->{err};
is(scalar(() = bucket_gdks($BK)), $gdks, '... still the one bucket key');

# asked off
($id, $cr) = create($BK, 'own', 'x-amz-server-side-encryption' => 'aws:kms',
    'x-amz-server-side-encryption-bucket-key-enabled' => 'false');
ok(!exists $cr->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}
   && !length(hash_of("ssek:mpu:{$id}")->{bk} // ''),
   '-bucket-key-enabled: false overrides the default: a data key of its own');
($cm) = upload($BK, 'own', $id, $p3);
$r = req(method => 'GET', bucket => $BK, key => 'own');
ok($cm->{status} == 200 && $r->{body} eq $p3
   && !exists $t->backend_get($BK, 'own')->{headers}{'x-amz-meta-ssek-bk'},
   '... completed, read back, no ssek-bk');

# ---- asked for in the headers, with a context ---------------------------------------------------

my $BP = 'mpu-plain';
$t->s3(qw(s3 mb), "s3://$BP");
my $ctx = encode_base64('{"team":"mpu"}', '');
($id, $cr) = create($BP, 'asked', 'x-amz-server-side-encryption' => 'aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id' => $k1->{KeyId},
    'x-amz-server-side-encryption-bucket-key-enabled' => 'true',
    'x-amz-server-side-encryption-context' => $ctx);
is($cr->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   'Create asking for a bucket key in a bucket without a default');
($cm) = upload($BP, 'asked', $id, $p1, $p3);
is($cm->{status}, 200, '... completed') or diag $cm->{body};
$r = req(method => 'GET', bucket => $BP, key => 'asked',
         headers => { range => 'bytes=5242870-5242900' });
is($r->{body}, substr($p1 . $p3, 5242870, 31), '... a range across its parts');
my @ctx = grep { ($_->{requestParameters}{encryptionContext}{team} // '') eq 'mpu' }
          bucket_gdks($BP);
is(scalar @ctx, 1, '... one bucket key, with the context in it');
$b = $t->backend_get($BP, 'asked');
is(decode_base64($b->{headers}{'x-amz-meta-ssek-ctx'} // ''), '{"team":"mpu"}',
   '... the context in ssek-ctx');

# ---- the location's default with bucket_key ------------------------------------------------------

$r = $t->aws(qw(kms create-alias --alias-name alias/mpu-loc --target-key-id),
             $k1->{KeyId});
is($r->{rc}, 0, 'an alias for the location default') or diag $r->{err};
my $BL = 'mpu-loc';
$t->s3(qw(s3 mb), "s3://$BL");
$r = $t->s3('s3', 'cp', $cli, "s3://$BL/cli", { endpoint => "http://127.0.0.1:$port2" });
is($r->{rc}, 0, "aws s3 cp of 9 MiB through 's3_kms_default_encryption aws:kms "
   . "alias bucket_key'") or diag $r->{err};
$b = $t->backend_get($BL, 'cli');
ok($b->{headers}{'x-amz-meta-ssek-bk'}
   && ($b->{headers}{'x-amz-meta-ssek-key'} // '') eq $k1->{Arn}
   && segments($b->{body}) == 2, '... multipart, with a bucket key of the alias\'s key');
$r = $t->s3('s3', 'cp', "s3://$BL/cli", "$d/loc.out", { endpoint => "http://127.0.0.1:$port2" });
ok($r->{rc} == 0 && $t->slurp("$d/loc.out") eq $t->slurp($cli),
   '... and back, byte-identical') or diag $r->{err};

# ---- a disabled key ------------------------------------------------------------------------------

($id, $cr) = create($BK, 'late');
is($cr->{status}, 200, 'an upload under the bucket key') or diag $cr->{body};
$r = part($BK, 'late', $id, 1, $p3);
is($r->{status}, 200, '... a part');
my $e1 = $r->{headers}{etag};
sleep 0.1;
$r = req(method => 'GET', bucket => $BK, key => 'late', query => { uploadId => $id });
is_deeply([$r->{body} =~ m{<Size>(\d+)</Size>}g], [100000],
          'ListParts: the plaintext size');
$r = $t->aws(qw(kms disable-key --key-id), $k2->{KeyId});
is($r->{rc}, 0, 'the key is disabled') or diag $r->{err};
sleep 0.2;
$r = part($BK, 'late', $id, 2, $p3);
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                '... the next UploadPart is refused: KMS.DisabledException');
($id2, $r) = create($BK, 'later');
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                '... and a new upload under the default');
$r = req(method => 'GET', bucket => $BK, key => 'obj');
isnt($r->{status}, 200, '... GET of a multipart object under it too');
$r = $t->aws(qw(kms enable-key --key-id), $k2->{KeyId});
sleep 0.2;
$r = complete($BK, 'late', $id, [1, $e1]);
is($r->{status}, 200, 'enabled again: Complete') or diag $r->{body};
$r = req(method => 'GET', bucket => $BK, key => 'late');
is($r->{body}, $p3, '... and GET');

$t->done;
