# The gateway and the KMS: which key encrypts (key id, ARN, alias name,
# alias ARN, the default alias/aws/s3), encryption contexts, key states
# (disabled, pending deletion), key policies (checked before the body is
# read, so the refusal comes before 100 Continue; kms:ViaService), SSE-S3,
# and the audit records of the data keys.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-keys');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

my $B = 'keysbkt';
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

sub create_key {
    my ($desc, @more) = @_;
    my $r = $t->aws('kms', 'create-key', '--description', $desc, @more);
    return $r->{json}{KeyMetadata};
}

my $k1 = create_key('gw-keys one');
my $k2 = create_key('gw-keys two');
ok($k1 && $k2, 'two KMS keys');
$r = $t->aws(qw(kms create-alias --alias-name alias/gw-one --target-key-id),
             $k1->{KeyId});
is($r->{rc}, 0, 'an alias') or diag $r->{err};
my $acct = $S3KMS::Test::CRED{alice}[2];
my $alias_arn = "arn:aws:kms:us-east-1:$acct:alias/gw-one";

my $data = $t->bytes(70000, 'keys');

sub sse { ('x-amz-server-side-encryption' => 'aws:kms',
           $_[0] ? ('x-amz-server-side-encryption-aws-kms-key-id' => $_[0]) : ()) }

sub put {
    my ($k, %o) = @_;
    return $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                          body => $o{body} // $data, %o);
}

sub get {
    my ($k, %o) = @_;
    return $t->s3_request(method => 'GET', bucket => $B, key => $k, %o);
}

# Retries $code until it returns true (key changes reach both workers
# through kms:events).
sub eventually {
    my ($code) = @_;
    my $end = time + 5;
    while (time < $end) {
        return 1 if $code->();
        sleep 0.1;
    }
    return 0;
}

# ---- which key ------------------------------------------------------------------------

for my $ref ([id => $k1->{KeyId}], [arn => $k1->{Arn}],
             ['alias name' => 'alias/gw-one'], ['alias ARN' => $alias_arn]) {
    my ($what, $v) = @$ref;
    my $k = "by-$what" =~ s/ /-/gr;
    $r = put($k, headers => { sse($v) });
    is($r->{status}, 200, "PUT with the key's $what") or diag $r->{body};
    is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
       $k1->{Arn}, "... answers the key ARN");
    $t->stored_ok($B, $k, $data, "... stored under that key",
                  key_arn => $k1->{Arn});
    $r = get($k);
    ok($r->{status} == 200 && $r->{body} eq $data, '... reads back');
    is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
       $k1->{Arn}, '... GET answers the key ARN');
}

# the default: alias/aws/s3, an AWS managed key made on first use
$r = put('default', headers => { sse() });
is($r->{status}, 200, 'PUT aws:kms without a key id') or diag $r->{body};
my $aws_s3 = $t->aws(qw(kms describe-key --key-id alias/aws/s3));
my $aws_s3_arn = $aws_s3->{json}{KeyMetadata}{Arn} // '';
is($aws_s3->{json}{KeyMetadata}{KeyManager}, 'AWS',
   'alias/aws/s3 is an AWS managed key');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $aws_s3_arn,
   '... and encrypts the object');
$t->stored_ok($B, 'default', $data, '... stored under alias/aws/s3',
              key_arn => $aws_s3_arn);

# ---- encryption contexts ------------------------------------------------------------------

my $ctx_json = '{"project":"x","dept":"ops"}';
my $ctx_b64 = encode_base64($ctx_json, '');
$r = put('ctx', headers => { sse($k1->{KeyId}),
                             'x-amz-server-side-encryption-context' => $ctx_b64 });
is($r->{status}, 200, 'PUT with an encryption context') or diag $r->{body};
is($r->{headers}{'x-amz-server-side-encryption-context'}, $ctx_b64,
   '... answered as S3 does');
$t->stored_ok($B, 'ctx', $data, '... stored: the canonical pairs, no aws:s3:arn',
              key_arn => $k1->{Arn}, ctx => '{"dept":"ops","project":"x"}');
$r = get('ctx');
ok($r->{status} == 200 && $r->{body} eq $data, '... reads back');
$r = put('ctx-arn', headers => { sse($k1->{KeyId}),
         'x-amz-server-side-encryption-context'
             => encode_base64('{"aws:s3:arn":"arn:aws:s3:::other/x"}', '') });
$t->is_s3_error($r, 400, 'InvalidArgument',
                'a client context with aws:s3:arn: InvalidArgument');

# ---- audit records --------------------------------------------------------------------------

my @rec = $t->audit_records;
my ($gen) = grep { $_->{eventName} eq 'GenerateDataKey'
                   && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'}
                       // '') eq "arn:aws:s3:::$B/ctx" } @rec;
ok($gen, 'a GenerateDataKey record for the PUT')
    or diag explain [map { $_->{eventName} } @rec];
$gen //= {};
is($gen->{userIdentity}{invokedBy}, 's3.amazonaws.com',
   '... invoked by s3.amazonaws.com');
is($gen->{userIdentity}{arn}, $S3KMS::Test::CRED{alice}[3],
   '... on behalf of the caller');
is($gen->{requestParameters}{keyId}, $k1->{KeyId}, '... with the key asked for')
    or diag explain $gen->{requestParameters};
is_deeply($gen->{requestParameters}{encryptionContext},
          { 'aws:s3:arn' => "arn:aws:s3:::$B/ctx", project => 'x',
            dept => 'ops' }, '... and the full encryption context');
my ($dec) = grep { $_->{eventName} eq 'Decrypt'
                   && ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'}
                       // '') eq "arn:aws:s3:::$B/ctx" } @rec;
ok($dec, 'a Decrypt record for the GET');
is($dec && $dec->{userIdentity}{invokedBy}, 's3.amazonaws.com',
   '... invoked by s3.amazonaws.com');
ok(!grep({ ($_->{errorCode} // '') ne '' } grep { $_->{eventName} =~ /Decrypt|GenerateDataKey/ } @rec),
   'no failed data-key call so far');

# ---- SSE-S3 --------------------------------------------------------------------------------------

$r = put('sse-s3', headers => { 'x-amz-server-side-encryption' => 'AES256' });
is($r->{status}, 200, 'PUT AES256');
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256', '... answered AES256');
ok(!exists $r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'},
   '... without a KMS key id');
$t->stored_ok($B, 'sse-s3', $data, '... stored encrypted, ssek-alg AES256',
              alg => 'AES256');
$r = get('sse-s3');
ok($r->{status} == 200 && $r->{body} eq $data, '... reads back');
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256', '... GET answers AES256');
$r = put('no-sse');
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256',
   'PUT without SSE headers: AES256, as S3 answers now');
$t->stored_ok($B, 'no-sse', $data, '... stored encrypted', alg => 'AES256');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'no-sse');
is($r->{headers}{'x-amz-server-side-encryption'}, 'AES256', '... HEAD answers AES256');
sleep 0.3;
my @sse_s3 = grep { ($_->{requestParameters}{encryptionContext}{'aws:s3:arn'} // '')
                    =~ m{/(sse-s3|no-sse)$} } $t->audit_records;
ok(!@sse_s3, 'SSE-S3 leaves no customer audit record');
my $b = $t->backend_get($B, 'sse-s3');
unlike($b->{headers}{'x-amz-meta-ssek-key'} // '', qr/^\Q$aws_s3_arn\E$/,
       'SSE-S3 is not under alias/aws/s3');
like($b->{headers}{'x-amz-meta-ssek-key'} // '',
     qr{^arn:aws:kms:us-east-1:000000000000:key/},
     'SSE-S3 is under the gateway\'s internal key');

# ---- key policies, checked before the body ---------------------------------------------

my $k3 = create_key('gw-keys policy');
my $policy = $t->json_encode({
    Version => '2012-10-17',
    Statement => [
        { Sid => 'admin', Effect => 'Allow',
          Principal => { AWS => "arn:aws:iam::$acct:root" },
          Action => ['kms:Describe*', 'kms:Put*', 'kms:Get*', 'kms:List*',
                     'kms:Enable*', 'kms:Disable*', 'kms:ScheduleKeyDeletion',
                     'kms:CancelKeyDeletion'],
          Resource => '*' },
        { Sid => 'bob via S3 only', Effect => 'Allow',
          Principal => { AWS => $S3KMS::Test::CRED{bob}[3] },
          Action => ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt'],
          Resource => '*',
          Condition => { StringEquals =>
                         { 'kms:ViaService' => 's3.us-east-1.amazonaws.com' } } },
    ] });
$t->spew('policy.json', $policy);
$r = $t->aws(qw(kms put-key-policy --policy-name default --key-id),
             $k3->{KeyId}, '--policy', 'file://' . $t->dir . '/policy.json');
is($r->{rc}, 0, 'a key policy: bob, via S3 only') or diag $r->{err};

my $big = $t->bytes(300000, 'policy');
sleep 0.3;
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'policy/alice',
                    body => $big, headers => { sse($k3->{KeyId}) },
                    unsigned_headers => [['Expect', '100-continue']],
                    expect => 1);
$t->is_s3_error($r, 403, 'AccessDenied', 'alice is refused by the key policy');
ok($r->{early} && !$r->{continue},
   '... before 100 Continue: the body was not sent');
is($t->backend_get($B, 'policy/alice')->{status}, 404, '... nothing stored');

$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'policy/bob',
                    body => $big, headers => { sse($k3->{KeyId}) }, who => 'bob',
                    unsigned_headers => [['Expect', '100-continue']],
                    expect => 1);
is($r->{status}, 200, 'bob may, through S3 (kms:ViaService)') or diag $r->{body};
ok($r->{continue}, '... after 100 Continue');
$r = get('policy/bob', who => 'bob');
ok($r->{status} == 200 && $r->{body} eq $big, '... and reads back');
$r = get('policy/bob');
$t->is_s3_error($r, 403, 'AccessDenied', 'alice may not decrypt it');
$t->spew('pt', 'hello');
$r = $t->aws(qw(kms encrypt --key-id), $k3->{KeyId}, '--plaintext',
             'fileb://' . $t->dir . '/pt', { as => 'bob' });
like($r->{err}, qr/AccessDeniedException/,
     'bob may not use the key directly (not via S3)');

# another account: the key's default policy trusts its own account only
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'carol',
                    body => $data, headers => { sse($k1->{Arn}) }, who => 'carol');
$t->is_s3_error($r, 403, 'AccessDenied', "another account may not use alice's key");
$r = get('by-arn', who => 'carol');
$t->is_s3_error($r, 403, 'AccessDenied', "... nor decrypt with it");

# ---- a disabled key ----------------------------------------------------------------------------

my $stored = $t->backend_get($B, 'by-id')->{body};
$r = $t->aws(qw(kms disable-key --key-id), $k1->{KeyId});
is($r->{rc}, 0, 'disable the key');
ok(eventually(sub { put('by-id', headers => { sse($k1->{KeyId}) })->{status} == 400 }),
   'the gateway sees it');
$r = put('by-id', headers => { sse($k1->{KeyId}) });
$t->is_s3_error($r, 400, 'KMS.DisabledException', 'PUT under a disabled key');
is($t->backend_get($B, 'by-id')->{body}, $stored, '... the older object untouched');
$r = get('by-id');
$t->is_s3_error($r, 400, 'KMS.DisabledException', 'GET under a disabled key');
$r = get('by-id', headers => { range => 'bytes=0-9' });
$t->is_s3_error($r, 400, 'KMS.DisabledException', 'ranged GET under a disabled key');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'by-id');
ok($r->{status} == 200 && $r->{headers}{'content-length'} == length $data,
   'HEAD still answers');
is($r->{headers}{'x-amz-server-side-encryption-aws-kms-key-id'}, $k1->{Arn},
   '... with the key ARN');
$t->redis_cli('DEL', "ssek:obj:{$B}:by-arn");
$r = get('by-arn');
$t->is_s3_error($r, 400, 'KMS.DisabledException',
                'GET under a disabled key, not indexed (probe)');
$r = $t->aws(qw(kms enable-key --key-id), $k1->{KeyId});
ok(eventually(sub { my $g = get('by-id'); $g->{status} == 200 && $g->{body} eq $data }),
   'enabled again: GET works');

# ---- a key pending deletion ---------------------------------------------------------------------

$r = put('doomed', headers => { sse($k2->{KeyId}) });
is($r->{status}, 200, 'PUT under the second key');
$r = $t->aws(qw(kms schedule-key-deletion --pending-window-in-days 7 --key-id),
             $k2->{KeyId});
is($r->{rc}, 0, 'schedule its deletion') or diag $r->{err};
ok(eventually(sub { put('doomed2', headers => { sse($k2->{KeyId}) })->{status} == 400 }),
   'the gateway sees it');
$r = put('doomed2', headers => { sse($k2->{KeyId}) });
$t->is_s3_error($r, 400, 'KMS.KMSInvalidStateException',
                'PUT under a key pending deletion');
is($t->backend_get($B, 'doomed2')->{status}, 404, '... nothing stored');
$r = get('doomed');
$t->is_s3_error($r, 400, 'KMS.KMSInvalidStateException',
                'GET under a key pending deletion');
$r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'doomed');
is($r->{status}, 200, 'HEAD still answers');
$t->aws(qw(kms cancel-key-deletion --key-id), $k2->{KeyId});
$t->aws(qw(kms enable-key --key-id), $k2->{KeyId});
ok(eventually(sub { my $g = get('doomed'); $g->{status} == 200 && $g->{body} eq $data }),
   'deletion cancelled, enabled: GET works');

# ---- failed data-key calls are audited too -------------------------------------------------------

sleep 0.3;
@rec = $t->audit_records;
ok(grep({ ($_->{errorCode} // '') =~ /Disabled/ && $_->{eventName} eq 'Decrypt' } @rec),
   'the refused Decrypt is in the audit log');
ok(grep({ ($_->{errorCode} // '') =~ /AccessDenied/
          && $_->{eventName} eq 'GenerateDataKey' } @rec),
   'the refused GenerateDataKey is in the audit log');

$t->done;
