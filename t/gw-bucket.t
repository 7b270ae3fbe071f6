# Bucket default encryption through the gateway: PutBucketEncryption,
# GetBucketEncryption and DeleteBucketEncryption kept by the gateway (in
# Redis, never at the backend), applied to plain uploads (aws s3 cp without
# SSE options), the location's s3_kms_default_encryption under the
# bucket's, S3's answers for buckets without a configuration and for
# buckets that do not exist; DeleteObjects and DeleteBucket drop what the
# gateway kept for them.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-bucket');
$t->start_redis;
$t->start_moto;

# a second gateway server whose location has a default of its own
my $p2 = S3KMS::Test::free_port();
$t->start_nginx(vars => { S3_PORT2 => $p2 }, http => <<'EOF');
    server {
        listen 127.0.0.1:%%S3_PORT2%%;
        client_max_body_size 0;
        location / {
            s3_kms_gateway on;
            s3_kms_backend %%BACKEND%% %%BACKEND_KEY%%;
            s3_kms_default_encryption aws:kms alias/loc-default;
        }
    }
EOF
my $ep2 = "http://127.0.0.1:$p2";

my $acct = $S3KMS::Test::CRED{alice}[2];
my $B = 'defaults';
my $r = $t->s3(qw(s3 mb), "s3://$B");
is($r->{rc}, 0, 'a bucket') or diag $r->{err};

# redis-cli's answer without its newline
sub rcli { my $x = $t->redis_cli(@_) // ''; $x =~ s/\s+\z//; return $x }

sub create_key {
    my ($desc) = @_;
    my $r = $t->aws('kms', 'create-key', '--description', $desc);
    return $r->{json}{KeyMetadata};
}

sub get_enc {
    my ($bucket, %o) = @_;
    return $t->s3_request(method => 'GET', bucket => $bucket,
                          query => { encryption => '' }, %o);
}

sub put_enc {
    my ($bucket, $xml, %o) = @_;
    return $t->s3_request(method => 'PUT', bucket => $bucket,
                          query => { encryption => '' }, body => $xml, %o);
}

sub config_xml {
    my ($alg, $key, $bk) = @_;
    return '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         . '<Rule><ApplyServerSideEncryptionByDefault>'
         . "<SSEAlgorithm>$alg</SSEAlgorithm>"
         . (defined $key ? "<KMSMasterKeyID>$key</KMSMasterKeyID>" : '')
         . '</ApplyServerSideEncryptionByDefault>'
         . (defined $bk ? "<BucketKeyEnabled>$bk</BucketKeyEnabled>" : '')
         . '</Rule></ServerSideEncryptionConfiguration>';
}

my $k1 = create_key('bucket default one');
my $k2 = create_key('bucket default two');
ok($k1 && $k2, 'two KMS keys');
$r = $t->aws(qw(kms create-alias --alias-name alias/loc-default --target-key-id),
             $k2->{KeyId});
is($r->{rc}, 0, "an alias for the location's default") or diag $r->{err};

my $data = $t->bytes(5000, 'defaults');
$t->spew('plain.bin', $data);
my $plain = $t->dir . '/plain.bin';

# ---- a bucket without a configuration ----------------------------------------------------

$r = get_enc($B);
is($r->{status}, 200, 'GetBucketEncryption without a configuration: 200, '
   . 'as S3 answers since 2023') or diag $r->{body};
like($r->{body}, qr{^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<ServerSideEncryptionConfiguration xmlns="http://s3\.amazonaws\.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>$},
     '... SSE-S3, no bucket key');
like($r->{headers}{'content-type'} // '', qr{^application/xml}, '... XML');
like($r->{headers}{'x-amz-request-id'} // '', qr/^[0-9A-F]{16}$/,
     '... with a request id');
is(rcli('EXISTS', "ssek:bucket:{$B}"), '0', '... nothing was written');

$r = $t->s3(qw(s3api get-bucket-encryption --bucket), $B);
is($r->{json}{ServerSideEncryptionConfiguration}{Rules}[0]
       {ApplyServerSideEncryptionByDefault}{SSEAlgorithm}, 'AES256',
   'aws s3api get-bucket-encryption reads it') or diag $r->{err};

# the backend never sees the gateway's configuration requests
my $be = $t->backend(qw(s3api get-bucket-encryption --bucket), $B);
isnt($be->{rc}, 0, 'the backend has no encryption configuration of its own')
    or diag $be->{out};

# ---- buckets that do not exist ---------------------------------------------------------------

for my $op (['GET', ''], ['DELETE', ''], ['PUT', config_xml('AES256')]) {
    my ($m, $body) = @$op;
    $r = $t->s3_request(method => $m, bucket => 'no-such-bucket-here',
                        query => { encryption => '' }, body => $body);
    $t->is_s3_error($r, 404, 'NoSuchBucket',
                    "$m ?encryption of a bucket that does not exist: "
                    . "NoSuchBucket", from_backend => 1);
}
is(rcli('EXISTS', 'ssek:bucket:{no-such-bucket-here}'), '0',
   '... and nothing was written for it');

# ---- aws:kms with a key --------------------------------------------------------------------------

$r = $t->s3('s3api', 'put-bucket-encryption', '--bucket', $B,
            '--server-side-encryption-configuration',
            '{"Rules":[{"ApplyServerSideEncryptionByDefault":'
            . '{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"'
            . $k1->{KeyId} . '"}}]}');
is($r->{rc}, 0, 'aws s3api put-bucket-encryption: aws:kms with a key')
    or diag $r->{err};
is(rcli('HGET', "ssek:bucket:{$B}", 'alg'), 'aws:kms',
   '... kept in Redis ssek:bucket:{BUCKET}');
is(rcli('HGET', "ssek:bucket:{$B}", 'key'), $k1->{KeyId},
   '... with the key as given');

$r = $t->s3(qw(s3api get-bucket-encryption --bucket), $B);
my $rule = $r->{json}{ServerSideEncryptionConfiguration}{Rules}[0] // {};
is($rule->{ApplyServerSideEncryptionByDefault}{SSEAlgorithm}, 'aws:kms',
   'get-bucket-encryption answers aws:kms') or diag $r->{err}, $r->{out};
is($rule->{ApplyServerSideEncryptionByDefault}{KMSMasterKeyID}, $k1->{KeyId},
   '... and the key');
ok(defined $rule->{BucketKeyEnabled} && !$rule->{BucketKeyEnabled},
   '... BucketKeyEnabled false');

$r = $t->s3('s3', 'cp', $plain, "s3://$B/by-default");
is($r->{rc}, 0, 'a plain aws s3 cp') or diag $r->{err};
$t->stored_ok($B, 'by-default', $data,
              '... is stored under the bucket default: aws:kms, its key',
              key_arn => $k1->{Arn});
$r = $t->s3(qw(s3api head-object --bucket), $B, '--key', 'by-default');
is($r->{json}{ServerSideEncryption}, 'aws:kms', '... HEAD says aws:kms');
is($r->{json}{SSEKMSKeyId}, $k1->{Arn}, '... and the key ARN');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'by-default');
ok($r->{status} == 200 && $r->{body} eq $data, '... and it reads back');

# a PUT's own SSE headers win over the bucket's default
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'own-headers',
                    body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'AES256' });
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256',
   "a PUT's own SSE header wins over the default");
$t->stored_ok($B, 'own-headers', $data, '... stored SSE-S3', alg => 'AES256');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'own-key',
                    body => $data,
                    headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                                 'x-amz-server-side-encryption-aws-kms-key-id'
                                     => $k2->{KeyId} });
$t->stored_ok($B, 'own-key', $data, '... and its own key too',
              key_arn => $k2->{Arn});

# a change applies at once, on every worker: Redis is read per request
$r = put_enc($B, config_xml('aws:kms', $k2->{Arn}));
is($r->{status}, 200, 'PutBucketEncryption with another key (by ARN)')
    or diag $r->{body};
is($r->{body}, '', '... no body');
my @arns;
for my $i (1 .. 8) {
    # a new connection each: both workers answer
    my $x = $t->s3_request(method => 'PUT', bucket => $B, key => "after/$i",
                           body => $data);
    push @arns, $x->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'} // '-';
}
is_deeply(\@arns, [($k2->{Arn}) x 8],
          '... every PUT right after it uses the new key');

# -bucket-key-enabled without the SSE header: the default's key, a bucket key
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'bk-header', body => $data,
                    headers => { 'x-amz-server-side-encryption-bucket-key-enabled' => 'true' });
is($r->{headers}{'x-amz-server-side-encryption-bucket-key-enabled'}, 'true',
   '-bucket-key-enabled alone: the default key with a bucket key');
my $bb = $t->stored_ok($B, 'bk-header', $data, '... stored', key_arn => $k2->{Arn});
ok($bb->{headers}{'x-amz-meta-ssek-bk'}, '... with x-amz-meta-ssek-bk');
ok($t->s3_request(method => 'GET', bucket => $B, key => 'bk-header')->{body} eq $data,
   '... reads back');

# ---- the key is checked as a PUT would use it -------------------------------------------------

$r = put_enc($B, config_xml('aws:kms', '00000000-1111-2222-3333-444444444444'));
$t->is_s3_error($r, 400, 'KMS.NotFoundException',
                'PutBucketEncryption with a key that does not exist');
my $k3 = create_key('disabled for defaults');
$t->aws(qw(kms disable-key --key-id), $k3->{KeyId});
$r = put_enc($B, config_xml('aws:kms', $k3->{KeyId}));
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                'PutBucketEncryption with a disabled key');
$r = put_enc($B, config_xml('aws:kms', $k1->{KeyId}), who => 'carol');
$t->is_s3_error($r, 400, 'KMS.NotFoundException',
                "another account's key by id: not found for that caller");
is(rcli('HGET', "ssek:bucket:{$B}", 'key'), $k2->{Arn},
   '... and the configuration stays as it was');

sleep 0.3;
my @checks = grep { $_->{eventName} eq 'GenerateDataKey'
                    && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'}
                        // '') eq "arn:aws:s3:::$B" } $t->audit_records;
ok(@checks >= 2, 'the key checks are audited GenerateDataKey calls under '
   . "the bucket's ARN") or diag scalar @checks;

# aws:kms without a key: alias/aws/s3
$r = put_enc($B, config_xml('aws:kms'));
is($r->{status}, 200, 'aws:kms without a key') or diag $r->{body};
$r = get_enc($B);
unlike($r->{body}, qr/KMSMasterKeyID/, '... answered without KMSMasterKeyID');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'aws-s3', body => $data);
my $aws_s3 = $t->aws(qw(kms describe-key --key-id alias/aws/s3));
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
   $aws_s3->{json}{KeyMetadata}{Arn}, '... PUTs go under alias/aws/s3');

# ---- AES256 --------------------------------------------------------------------------------------

$r = put_enc($B, config_xml('AES256', undef, 'true'));
is($r->{status}, 200, 'AES256 (with BucketKeyEnabled, which S3 takes)')
    or diag $r->{body};
like(get_enc($B)->{body},
     qr{<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>},
     '... answered as written');
$r = $t->s3('s3', 'cp', $plain, "s3://$B/aes");
$t->stored_ok($B, 'aes', $data, '... a plain cp is SSE-S3', alg => 'AES256');

# ---- DeleteBucketEncryption ----------------------------------------------------------------------

$r = $t->s3_request(method => 'DELETE', bucket => $B, query => { encryption => '' });
is($r->{status}, 204, 'DeleteBucketEncryption: 204') or diag $r->{body};
is(rcli('EXISTS', "ssek:bucket:{$B}"), '0', '... the configuration is gone');
like(get_enc($B)->{body}, qr{<SSEAlgorithm>AES256</SSEAlgorithm>},
     '... GetBucketEncryption answers S3\'s default again');
$r = $t->s3(qw(s3api delete-bucket-encryption --bucket), $B);
is($r->{rc}, 0, 'aws s3api delete-bucket-encryption of none: fine, as S3')
    or diag $r->{err};

# ---- the location's default, under the bucket's ----------------------------------------------------

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'loc', body => $data,
                    port => $p2);
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k2->{Arn},
   "without a bucket default the location's applies") or diag $r->{body};
$t->stored_ok($B, 'loc', $data, '... stored under its key', key_arn => $k2->{Arn});
$r = get_enc($B, port => $p2);
like($r->{body}, qr{<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/loc-default</KMSMasterKeyID>},
     "... and GetBucketEncryption there answers it");
$r = put_enc($B, config_xml('aws:kms', $k1->{KeyId}), port => $p2);
is($r->{status}, 200, 'a bucket default set through that location');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'loc2', body => $data,
                    port => $p2);
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k1->{Arn},
   "... wins over the location's");
$r = $t->s3_request(method => 'DELETE', bucket => $B, query => { encryption => '' });

# ---- malformed configurations ---------------------------------------------------------------------

$r = put_enc($B, '<ServerSideEncryptionConfiguration><Rule></Rule>');
$t->is_s3_error($r, 400, 'MalformedXML', 'a configuration cut short: MalformedXML');
$r = put_enc($B, config_xml('aws:fancy'));
$t->is_s3_error($r, 400, 'MalformedXML', 'an unknown SSEAlgorithm: MalformedXML');
$r = put_enc($B, config_xml('AES256', $k1->{KeyId}));
$t->is_s3_error($r, 400, 'InvalidArgument', 'AES256 with a KMS key: InvalidArgument');
$r = put_enc($B, '');
$t->is_s3_error($r, 400, 'MalformedXML', 'an empty body: MalformedXML');
$r = put_enc($B, config_xml('AES256'), headers => { 'content-md5' => 'AAAAAAAAAAAAAAAAAAAAAA==' });
$t->is_s3_error($r, 400, 'BadDigest', 'a wrong Content-MD5: BadDigest');
is(rcli('EXISTS', "ssek:bucket:{$B}"), '0', 'none of them was kept');

# ---- DeleteObjects drops the index entries ---------------------------------------------------------

for my $k (qw(del/a del/b del/c keep)) {
    $t->s3_request(method => 'PUT', bucket => $B, key => $k, body => $data);
}
is(rcli('EXISTS', "ssek:obj:{$B}:del/a", "ssek:obj:{$B}:del/b",
                 "ssek:obj:{$B}:del/c", "ssek:obj:{$B}:keep"), '4',
   'four objects indexed');
$r = $t->s3('s3api', 'delete-objects', '--bucket', $B, '--delete',
            '{"Objects":[{"Key":"del/a"},{"Key":"del/b"},{"Key":"del/c"}]}');
is($r->{rc}, 0, 'aws s3api delete-objects') or diag $r->{err};
is(scalar @{$r->{json}{Deleted} // []}, 3, '... three deleted');
sleep 0.2;
is(rcli('EXISTS', "ssek:obj:{$B}:del/a", "ssek:obj:{$B}:del/b",
                 "ssek:obj:{$B}:del/c"), '0', '... their index entries are gone');
is(rcli('EXISTS', "ssek:obj:{$B}:keep"), '1', '... the others stay');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'keep');
ok($r->{status} == 200 && $r->{body} eq $data, '... and read back');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'del/a');
$t->is_s3_error($r, 404, 'NoSuchKey', 'a deleted key: NoSuchKey',
                from_backend => 1);

# ---- DeleteBucket drops the bucket's default -----------------------------------------------------

$r = $t->s3(qw(s3 mb s3://gone-soon));
$r = put_enc('gone-soon', config_xml('aws:kms', $k1->{KeyId}));
is(rcli('EXISTS', 'ssek:bucket:{gone-soon}'), '1', 'a bucket with a default');
$r = $t->s3(qw(s3 rb s3://gone-soon));
is($r->{rc}, 0, '... deleted') or diag $r->{err};
sleep 0.2;
is(rcli('EXISTS', 'ssek:bucket:{gone-soon}'), '0', '... its default with it');
$r = $t->s3(qw(s3 mb s3://gone-soon));
like(get_enc('gone-soon')->{body}, qr{<SSEAlgorithm>AES256</SSEAlgorithm>},
     '... a new bucket of that name starts without it');

# ---- Redis away ----------------------------------------------------------------------------------

$t->stop_redis;
sleep 0.3;
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'no-redis', body => $data);
$t->is_s3_error($r, 503, 'ServiceUnavailable',
                'without Redis a PUT without SSE headers is refused, never '
                . 'written under a weaker default');
$r = get_enc($B);
$t->is_s3_error($r, 503, 'ServiceUnavailable', '... GetBucketEncryption too');
$t->allow_log(qr/redis|Redis/);

# ---- configuration errors ---------------------------------------------------------------------------

# nginx -t writes its refusals to the same error.log
$t->allow_log(qr/\[emerg\].*(s3_kms_default_encryption|s3_kms_bucket_key_lifetime)/);

for my $c (['s3_kms_default_encryption aws:kms alias/a bucket_key extra;',
            qr/invalid number of arguments|invalid parameter "extra"/],
           ['s3_kms_default_encryption aws:kms alias/a nonsense;',
            qr/s3_kms_default_encryption.*invalid parameter "nonsense"/],
           ['s3_kms_default_encryption AES128;',
            qr/s3_kms_default_encryption.*invalid algorithm "AES128"/],
           ['s3_kms_default_encryption AES256 alias/a;',
            qr/s3_kms_default_encryption.*"AES256" takes no parameters/],
           ['s3_kms_bucket_key_lifetime 0;',
            qr/s3_kms_bucket_key_lifetime" must be from 1s to 24h/],
           ['s3_kms_bucket_key_lifetime 2d;',
            qr/s3_kms_bucket_key_lifetime" must be from 1s to 24h/]) {
    my ($line, $want) = @$c;
    $t->nginx_conf(gateway => "            $line");
    my ($rc, $out) = $t->nginx_test;
    ok($rc != 0 && $out =~ $want, "nginx -t refuses '$line'") or diag $out;
}
$t->nginx_conf(gateway => '            s3_kms_default_encryption aws:kms '
                          . 'arn:aws:kms:us-east-1:111122223333:alias/x bucket_key;');
my ($trc, $tout) = $t->nginx_test;
is($trc, 0, 'nginx -t takes an alias ARN and bucket_key') or diag $tout;

$t->done;
