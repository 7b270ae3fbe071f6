# Bad input and bad conditions (issue 2, acceptance 4): each answered with
# AWS's error while nginx keeps serving and error.log has no [alert] or
# [crit] — malformed JSON, wrong field types, unknown targets, missing,
# wrong, incomplete or stale signatures, unknown access keys, oversized
# bodies, invalid base64, Redis stopped and started again, key records
# edited in Redis; the quota shared by both workers; a change made through
# one worker seen by the other within a second.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use S3KMS::Test;

my $t = S3KMS::Test->new;
$t->start_redis;
$t->start_nginx(http => $t->pid_log_conf);

my $alice = $t->cred('alice');

sub kms { $t->kms_raw(@_) }

sub err_is {
    my ($r, $status, $type, $msg, $name) = @_;
    my $j = $r->{json} // {};
    my $ok = is($r->{status}, $status, "$name: HTTP $status")
           & is($j->{__type}, $type, "$name: $type");
    if (!defined $msg) {
        ok(!exists $j->{message}, "$name: no message, as AWS sends none");
    } elsif (ref $msg) {
        like($j->{message} // '', $msg, "$name: AWS's message");
    } else {
        is($j->{message}, $msg, "$name: AWS's message");
    }
    is($r->{headers}{'content-type'}, 'application/x-amz-json-1.1',
       "$name: a JSON answer");
    diag $r->{content} unless $ok;
}

sub serving {
    my ($after) = @_;
    my $r = kms('ListKeys', '{}');
    is($r->{status}, 200, "nginx keeps serving after $after");
}

my $key = kms('CreateKey', '{"Description":"errors"}')->{json}{KeyMetadata};
my $id = $key->{KeyId};
ok($id, 'a key to work with');

# ---- the request body --------------------------------------------------------

err_is(kms('ListKeys', '{"Limit":'), 400, 'SerializationException', undef,
       'truncated JSON');
err_is(kms('ListKeys', 'Limit=1'), 400, 'SerializationException', undef,
       'a body that is not JSON');
err_is(kms('ListKeys', '{"Limit":1,"Limit":2}'), 400,
       'SerializationException', undef, 'a duplicate member');
err_is(kms('ListKeys', '[1]'), 400, 'SerializationException',
       'Start of list found where not expected', 'an array for the request');
serving('malformed JSON');

err_is(kms('DescribeKey', '{"KeyId":5}'), 400, 'SerializationException',
       'NUMBER_VALUE can not be converted to a String', 'a number for KeyId');
err_is(kms('DescribeKey', '{"KeyId":{"a":1}}'), 400, 'SerializationException',
       'Start of structure or map found where not expected.',
       'an object for KeyId');
err_is(kms('DescribeKey', '{"KeyId":["a"]}'), 400, 'SerializationException',
       'Start of list found where not expected', 'a list for KeyId');
err_is(kms('ListKeys', '{"Limit":"10"}'), 400, 'SerializationException',
       'STRING_VALUE can not be converted to an Integer',
       'a string for Limit');
err_is(kms('Encrypt', qq({"KeyId":"$id","Plaintext":true})), 400,
       'SerializationException', 'TRUE_VALUE can not be converted to a Blob',
       'a boolean for Plaintext');
err_is(kms('ListKeys', '{"Limit":0}'), 400, 'ValidationException',
       "1 validation error detected: Value '0' at 'limit' failed to satisfy "
       . "constraint: Member must have value greater than or equal to 1",
       'a Limit out of range');
serving('wrong field types');

err_is(kms('Encrypt', qq({"KeyId":"$id","Plaintext":"!!!!"})), 400,
       'SerializationException', qr/base64/i, 'Plaintext not base64');
err_is(kms('Encrypt', qq({"KeyId":"$id","Plaintext":"YQ"})), 400,
       'SerializationException', qr/base64/i, 'Plaintext without padding');
err_is(kms('Decrypt', '{"CiphertextBlob":"AQ=?"}'), 400,
       'SerializationException', qr/base64/i, 'CiphertextBlob not base64');
serving('invalid base64');

my $big = '{"Description":"' . ('a' x (300 * 1024)) . '"}';
err_is(kms('CreateKey', $big), 400, 'ValidationException',
       'Request body is larger than the service accepts',
       'a 300 KiB body (over s3_kms_api_max_body)');
err_is(kms('CreateKey', '{"Description":"' . ('a' x (2 * 1024 * 1024)) . '"}'),
       400, 'ValidationException',
       'Request body is larger than the service accepts',
       'a 2 MiB body (over client_max_body_size too)');
{
    # the same size in chunks: no Content-Length to refuse it early
    my $sent = 0;
    my $body = 'x' x 65536;
    my ($h) = S3KMS::Test::sigv4_headers(
        method => 'POST', host => "127.0.0.1:" . $t->{kms_port},
        headers => { 'content-type' => 'application/x-amz-json-1.1',
                     'x-amz-target' => 'TrentService.CreateKey' },
        body => '', region => 'us-east-1', service => 'kms');
    delete $h->{host};
    my $res = HTTP::Tiny->new(timeout => 20)->request(
        'POST', $t->kms_endpoint . '/',
        { headers => $h,
          content => sub { return undef if $sent++ >= 32; return $body } });
    $res->{json} = eval { $t->json_decode($res->{content}) };
    err_is($res, 400, 'ValidationException',
           'Request body is larger than the service accepts',
           'a 2 MiB chunked body');
}
serving('oversized bodies');
is(scalar(() = $t->kms_raw('ListKeys', '{}')->{content} =~ /KeyId/g), 1,
   'no key was created by the oversized requests');
{
    # within the limit but over nginx's client_body_buffer_size (16k)
    my $stmts = join ',', map {
        qq({"Sid":"s$_","Effect":"Allow","Principal":{"AWS":)
        . qq("arn:aws:iam::111122223333:root"},"Action":"kms:*",)
        . qq("Resource":"*"})
    } 1 .. 250;
    my $policy = qq({"Version":"2012-10-17","Statement":[$stmts]});
    my $r = kms('CreateKey', $t->json_encode({ Policy => $policy,
                                               Description => 'd' x 8000 }));
    is($r->{status}, 200, sprintf('a %d KiB request is read whole',
                                  (length($policy) + 8000) / 1024))
        or diag $r->{content};
    kms('ScheduleKeyDeletion', $t->json_encode({
        KeyId => $r->{json}{KeyMetadata}{KeyId}, PendingWindowInDays => 7 }));
}

# ---- the target --------------------------------------------------------------

err_is(kms('CreateBogus', '{}'), 400, 'UnknownOperationException', undef,
       'an unknown operation');
err_is(kms('', '{}'), 400, 'UnknownOperationException', undef,
       'no X-Amz-Target');
err_is(kms('ListKeys', '{}', headers => { 'x-amz-target' => 'Foo.ListKeys' }),
       400, 'UnknownOperationException', undef, 'another service\'s target');
err_is(kms('CreateGrant', '{}'), 400, 'UnsupportedOperationException',
       'CreateGrant is not supported by this key service.',
       'an AWS operation this service does not have');
serving('unknown targets');

# ---- authentication ----------------------------------------------------------

err_is(kms('ListKeys', '{}', unsigned => 1), 400,
       'MissingAuthenticationTokenException', 'Missing Authentication Token',
       'no signature at all');

my $sigmsg = 'The request signature we calculated does not match the '
    . 'signature you provided. Check your AWS Secret Access Key and signing '
    . 'method. Consult the service documentation for details.';
err_is(kms('ListKeys', '{}', bad_signature => 1), 400,
       'InvalidSignatureException', $sigmsg, 'a wrong signature');
err_is(kms('ListKeys', '{"Limit":1}', payload_hash => sha256_hex('{}')), 400,
       'InvalidSignatureException', $sigmsg, 'a body changed after signing');
err_is(kms('ListKeys', '{}', headers => { 'x-amz-target' =>
                                          'TrentService.ListKeys' },
           who => 'bob', bad_signature => 1),
       400, 'InvalidSignatureException', $sigmsg,
       'another user\'s access key with a wrong signature');

for my $off (-16 * 60, 16 * 60) {
    my $now = time;
    my $r = kms('ListKeys', '{}', time => $now + $off);
    my $amz = strftime('%Y%m%dT%H%M%SZ', gmtime($now + $off));
    my $re = $off < 0
        ? qr/^Signature expired: \Q$amz\E is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/
        : qr/^Signature not yet current: \Q$amz\E is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$/;
    err_is($r, 400, 'InvalidSignatureException', $re,
           sprintf('a clock %d minutes %s', abs($off) / 60,
                   $off < 0 ? 'behind' : 'ahead'));
}
is(kms('ListKeys', '{}', time => time - 14 * 60)->{status}, 200,
   'a clock 14 minutes behind is within the 15-minute skew');

$S3KMS::Test::CRED{mallory} = ['AKIAMALLORY000000009', 'malloryS' x 5,
                               '111122223333',
                               'arn:aws:iam::111122223333:user/mallory'];
err_is(kms('ListKeys', '{}', who => 'mallory'), 400,
       'UnrecognizedClientException',
       'The security token included in the request is invalid.',
       'an access key this server does not know');

{
    my $amz = strftime('%Y%m%dT%H%M%SZ', gmtime);
    my $scope = substr($amz, 0, 8) . '/us-east-1/kms/aws4_request';
    my %base = ('x-amz-date' => $amz);
    my $auth = "AWS4-HMAC-SHA256 Credential=$alice->[0]/$scope";

    err_is(kms('ListKeys', '{}', unsigned => 1,
               headers => { %base, Authorization => $auth }),
           400, 'IncompleteSignatureException',
           "Authorization header requires 'Signature' parameter. "
           . "Authorization header requires 'SignedHeaders' parameter. "
           . "Authorization=$auth",
           'an Authorization header without SignedHeaders and Signature');

    $auth = "AWS4-HMAC-SHA256 Credential=$alice->[0]/$scope, "
          . "SignedHeaders=host;x-amz-date, Signature=00ff";
    err_is(kms('ListKeys', '{}', unsigned => 1,
               headers => { Authorization => $auth }),
           400, 'IncompleteSignatureException',
           "Authorization header requires existence of either a "
           . "'X-Amz-Date' or a 'Date' header. Authorization=$auth",
           'a signed request without a date');

    $auth = "AWS4-HMAC-SHA256 Credential=$alice->[0]/us-east-1/kms, "
          . "SignedHeaders=host;x-amz-date, Signature=00ff";
    err_is(kms('ListKeys', '{}', unsigned => 1,
               headers => { %base, Authorization => $auth }),
           400, 'IncompleteSignatureException',
           'Credential must have exactly 5 slash-delimited elements, e.g. '
           . "keyid/date/region/service/term, got '$alice->[0]/us-east-1/kms'",
           'a credential of three elements');

    $auth = "AWS4-HMAC-SHA256 Credential= $alice->[0]/$scope, "
          . "SignedHeaders=host;x-amz-date, Signature=00ff";
    err_is(kms('ListKeys', '{}', unsigned => 1,
               headers => { %base, Authorization => $auth }),
           400, 'IncompleteSignatureException',
           "'$alice->[0]/$scope' not a valid key=value pair (missing "
           . "equal-sign) in Authorization header: '$auth'.",
           'a component without an equal sign');

    $auth = "AWS $alice->[0]:c2lnbmF0dXJl";
    err_is(kms('ListKeys', '{}', unsigned => 1,
               headers => { %base, Authorization => $auth }),
           400, 'IncompleteSignatureException',
           "Authorization header requires 'Credential' parameter. "
           . "Authorization header requires 'Signature' parameter. "
           . "Authorization header requires 'SignedHeaders' parameter. "
           . "Authorization=$auth",
           'a Signature Version 2 header');
}
serving('bad signatures');

# refused calls are audited too (the log is flushed every 100 ms)
sleep 0.3;
my @rec = $t->audit_records;
my %codes = map { ($_->{errorCode} // '') => 1 } @rec;
ok($codes{$_}, "the audit log records a refused call: $_")
    for qw(InvalidSignatureException MissingAuthenticationTokenException
           SerializationException UnknownOperationException
           IncompleteSignatureException UnrecognizedClientException);

# ---- a change made through one worker, seen by the other ---------------------

# keep-alive connections until two of them are on different workers
my (%conn_of, @pair);
for my $i (1 .. 40) {
    my $c = $t->kms_conn;
    $t->kms_call($c, 'ListKeys', '{}', headers => { 'x-test-tag' => "c$i" });
    my $pid = $t->worker_of("c$i") or next;
    $conn_of{$pid} //= $c;
    if (keys %conn_of >= 2) {
        @pair = values %conn_of;
        last;
    }
}
SKIP: {
    skip 'the kernel gave every connection to one worker', 4 unless @pair;

    my ($w1, $w2) = @pair;
    my $enc = qq({"KeyId":"$id","Plaintext":"YQ=="});
    is($t->kms_call($w2, 'Encrypt', $enc)->{status}, 200,
       'the second worker encrypts with the key');
    is($t->kms_call($w1, 'DisableKey', qq({"KeyId":"$id"}))->{status}, 200,
       'the first worker disables it');
    my ($r, $took) = $t->kms_wait(2, sub {
        ($_[0]{json}{__type} // '') eq 'DisabledException' }, $w2, 'Encrypt',
        $enc);
    is($r->{json}{__type}, 'DisabledException',
       'the second worker refuses it as disabled');
    cmp_ok($took, '<', 1, 'within a second (pub/sub)');
    $t->kms_call($w1, 'EnableKey', qq({"KeyId":"$id"}));
}

# ---- Redis stopped, then started again ---------------------------------------

$t->allow_log(qr/redis/);
$t->stop_redis;
my ($down) = $t->kms_wait(3, sub { $_[0]{status} == 503 },
                          'Encrypt', qq({"KeyId":"$id","Plaintext":"YQ=="}));
err_is($down, 503, 'DependencyTimeoutException',
       'The key store is unreachable. Try again later.',
       'Encrypt with Redis stopped');
err_is(kms('CreateKey', '{}'), 503, 'DependencyTimeoutException',
       'The key store is unreachable. Try again later.',
       'CreateKey with Redis stopped');
err_is(kms('ListKeys', '{}'), 503, 'DependencyTimeoutException',
       'The key store is unreachable. Try again later.',
       'ListKeys with Redis stopped');

$t->start_redis;
my ($up, $took) = $t->kms_wait(10, sub { $_[0]{status} == 200 },
                               'Encrypt',
                               qq({"KeyId":"$id","Plaintext":"YQ=="}));
is($up->{status}, 200, 'Redis back: Encrypt works again, nginx not restarted');
diag sprintf('service resumed %.1f s after Redis started', $took);
ok($t->wait_kms_ready, 'both workers serve again');
my $k2 = kms('CreateKey', '{}');
is($k2->{status}, 200, 'CreateKey works again');
is(kms('DescribeKey', qq({"KeyId":"$id"}))->{json}{KeyMetadata}{KeyId}, $id,
   'the key made before is still there');

# ---- key records edited in Redis ---------------------------------------------

$t->allow_log(qr/failed authentication/);

sub rkey { "kms:key:{$_[0]}" }

# a field of a key's hash (redis-cli ends values with newlines)
sub rget {
    my $v = $t->redis_cli('HGET', rkey($_[0]), $_[1]) // '';
    $v =~ s/\n+\z//;
    return $v;
}

# with an event: every worker reads the edited record
my $victim = kms('CreateKey', '{}')->{json}{KeyMetadata};
my $varn = $victim->{Arn};
my $vid = $victim->{KeyId};
is(kms('DisableKey', qq({"KeyId":"$vid"}))->{status}, 200,
   'a key is disabled');
my $meta = rget($vid, 'meta');
my $rev = rget($vid, 'rev');
like($meta, qr/"state":"Disabled"/, 'its record says Disabled');
(my $forged = $meta) =~ s/"state":"Disabled"/"state":"Enabled"/;
$t->redis_cli('HSET', rkey($vid), 'meta', $forged, 'rev', $rev + 1);
$t->redis_cli('PUBLISH', 'kms:events', "kms1 $vid " . ($rev + 1));

my $venc = qq({"KeyId":"$vid","Plaintext":"YQ=="});
my ($tr) = $t->kms_wait(2, sub {
    ($_[0]{json}{__type} // '') eq 'KMSInvalidStateException' }, 'Encrypt',
    $venc);
err_is($tr, 400, 'KMSInvalidStateException', "$varn is unavailable.",
       'a record set back to Enabled in Redis makes the key unavailable');
my %seen;
for (1 .. 10) {
    my $r = kms('Encrypt', $venc);
    $seen{$r->{json}{__type} // 'success'}++;
}
is_deeply([keys %seen], ['KMSInvalidStateException'],
          'every worker refuses it, none encrypts');
like($t->error_log, qr/key \Q$vid\E: record failed authentication/,
     'error.log says which record failed');

# putting the genuine record back makes it usable again (still Disabled)
$t->redis_cli('HSET', rkey($vid), 'meta', $meta, 'rev', $rev);
$t->redis_cli('PUBLISH', 'kms:events', "kms1 $vid $rev");
my ($back) = $t->kms_wait(2, sub {
    ($_[0]{json}{__type} // '') eq 'DisabledException' }, 'Encrypt', $venc);
is($back->{json}{__type}, 'DisabledException',
   'the restored record is read again: the key is Disabled, as it was');

# without an event: a worker that loads afterwards
my $mac = rget($id, 'mac');
is(length $mac, 64, 'the record\'s MAC, in hex');
$t->redis_cli('HSET', rkey($id), 'mac', '0' x 64);
$t->stop_nginx;
$t->start_nginx(keep_conf => 1);
err_is(kms('Encrypt', qq({"KeyId":"$id","Plaintext":"YQ=="})), 400,
       'KMSInvalidStateException', "$key->{Arn} is unavailable.",
       'a record with a forged MAC is unavailable after a restart');
my @keys = map { $_->{KeyId} } @{kms('ListKeys', '{}')->{json}{Keys} || []};
ok(!grep({ $_ eq $id } @keys), 'and ListKeys leaves it out');
$t->redis_cli('HSET', rkey($id), 'mac', $mac);

# ---- the quota, shared by both workers ---------------------------------------

my $rate = 30;
$t->stop_nginx;
$t->start_nginx(http => $t->pid_log_conf . "    s3_kms_quota ${rate}r/s;\n");

my $children = 4;
my $each = 40;
my $t0 = time;
my @pids;
for my $c (1 .. $children) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my %n;
        for (1 .. $each) {
            my $r = kms('GenerateRandom', '{"NumberOfBytes":8}',
                        headers => { 'x-test-tag' => 'quota' });
            my $what = $r->{status} == 200 ? 'ok'
                     : ($r->{json}{__type} // 'other') . ' '
                       . ($r->{json}{message} // '');
            $n{$what}++;
        }
        open my $f, '>', $t->dir . "/quota.$c" or POSIX::_exit(1);
        print $f map { "$n{$_}\t$_\n" } keys %n;
        close $f;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
my $elapsed = time - $t0;

my %n;
for my $c (1 .. $children) {
    for (split /\n/, $t->slurp($t->dir . "/quota.$c")) {
        my ($count, $what) = split /\t/;
        $n{$what} += $count;
    }
}
my $ok = $n{ok} // 0;
my $throttled = $n{'ThrottlingException Rate exceeded'} // 0;
diag sprintf('quota %d r/s: %d allowed, %d throttled in %.2f s', $rate, $ok,
             $throttled, $elapsed);
is($ok + $throttled, $children * $each,
   'every request is either served or throttled with "Rate exceeded"');
cmp_ok($ok, '>=', $rate, 'the burst (the rate) is served');
cmp_ok($ok, '<=', $rate + $rate * $elapsed + 2,
       'no more than the rate allows: one bucket for both workers');
my %workers = map { $_ => 1 } grep { /^\d+ quota$/ } split /\n/,
              $t->slurp($t->dir . '/pid.log');
is(scalar(keys %workers), 2, 'the requests reached both workers');
is(kms('ListKeys', '{}')->{status}, 200,
   'management calls are not throttled');
sleep 1;
is(kms('GenerateRandom', '{"NumberOfBytes":8}')->{status}, 200,
   'a second later the bucket has refilled');

$t->done;
