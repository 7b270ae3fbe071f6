# Failures: each gets S3's error, in S3's XML, and leaves nothing
# committed (the backend has no object under the key, or the older object
# there is untouched, and the index still describes it).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-errors');
$t->start_redis;
$t->start_moto;
$t->start_nginx(server => "        client_body_timeout 3s;\n"
                        . "        large_client_header_buffers 4 16k;");

my $B = 'errbkt';
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'CreateBucket');

my $F = 65536;
my $data = $t->bytes(3 * $F + 100, 'new');
my $old = $t->bytes(5000, 'old');

# an older object under the key, stored through the gateway
sub older {
    my ($k) = @_;
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $old);
    $r->{status} == 200 or diag "older $k: $r->{status} $r->{body}";
    return $t->backend_get($B, $k)->{body};
}

# nothing committed: the older object (or none) is there, and reads back
sub untouched {
    my ($k, $stored, $name) = @_;
    my $b = $t->backend_get($B, $k);
    if (defined $stored) {
        ok($b->{status} == 200 && $b->{body} eq $stored,
           "$name: the older object is untouched at the backend")
            or diag "backend status $b->{status}, " . length($b->{body});
        my $g = $t->s3_request(method => 'GET', bucket => $B, key => $k);
        ok($g->{status} == 200 && $g->{body} eq $old,
           "$name: ... and reads back through the gateway");
    } else {
        is($b->{status}, 404, "$name: nothing stored at the backend");
    }
}

sub put_fails {
    my ($name, $status, $code, %o) = @_;
    my $k = "k/" . ($name =~ s/\W+/-/gr);
    my $stored = older($k);
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $data, %o);
    $t->is_s3_error($r, $status, $code, "$name: $status $code");
    untouched($k, $stored, $name);
    my $k2 = "$k-new";
    $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k2,
                        body => $data, %o);
    is($r->{status}, $status, "$name (no older object): $status");
    untouched($k2, undef, $name);
}

# ---- the body's checks ------------------------------------------------------------------

put_fails('bad signature of the first chunk', 403, 'SignatureDoesNotMatch',
          payload => 'streaming', bad_chunk => 0);
put_fails('bad signature of a middle chunk', 403, 'SignatureDoesNotMatch',
          payload => 'streaming', bad_chunk => 2);
put_fails('bad signature of the final chunk', 403, 'SignatureDoesNotMatch',
          payload => 'streaming', bad_chunk => 4);
put_fails('bad trailer signature', 403, 'SignatureDoesNotMatch',
          payload => 'streaming-trailer', bad_trailer_sig => 1);
put_fails('wrong Content-MD5', 400, 'BadDigest',
          headers => { 'content-md5' => $t->checksum_b64('md5', 'other') });
put_fails('wrong Content-MD5, aws-chunked', 400, 'BadDigest',
          payload => 'streaming',
          headers => { 'content-md5' => $t->checksum_b64('md5', 'other') });
put_fails('wrong checksum trailer', 400, 'BadDigest',
          payload => 'unsigned-trailer',
          trailer_value => $t->checksum_b64('crc32', 'other'));
put_fails('wrong signed checksum trailer', 400, 'BadDigest',
          payload => 'streaming-trailer', trailer => 'sha256',
          trailer_value => $t->checksum_b64('sha256', 'other'));
put_fails('wrong x-amz-checksum-crc32c header', 400, 'BadDigest',
          headers => { 'x-amz-checksum-crc32c'
                       => $t->checksum_b64('crc32c', 'other') });
put_fails('wrong hex payload hash', 400, 'XAmzContentSHA256Mismatch',
          payload => sha256_hex('other'));
put_fails('decoded length longer than the chunks', 400, 'IncompleteBody',
          payload => 'streaming',
          headers => { 'x-amz-decoded-content-length' => length($data) + 10 });

# a body shorter than its Content-Length, the client's side shut: nginx
# sees the client gone (no answer can be sent); nothing is committed
{
    my $k = 'k/short-body';
    my $stored = older($k);
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $data, payload => 'unsigned',
                           send_limit => length($data) - 1000,
                           shutdown => 1, timeout => 10);
    ok(!$r->{status} || $t->is_s3_error($r, 400, 'IncompleteBody', 'short'),
       'a body shorter than Content-Length: no answer, or IncompleteBody');
    untouched($k, $stored, 'short body');
}

# a client that disconnects mid-body
for my $mode (qw(unsigned streaming)) {
    my $k = "k/disconnect-$mode";
    my $stored = older($k);
    my $big = $t->bytes(2 * 1024 * 1024, 'disc');
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $big, payload => $mode,
                           send_limit => 1024 * 1024 + 77, linger => 0.5);
    ok($r->{aborted}, "disconnect mid-body ($mode)");
    sleep 0.5;
    untouched($k, $stored, "disconnect mid-body ($mode)");
    $r = $t->s3_request(method => 'PUT', bucket => $B, key => "$k-new",
                        body => $big, payload => $mode,
                        send_limit => 1024 * 1024 + 77, linger => 0.5);
    sleep 0.5;
    untouched("$k-new", undef, "disconnect mid-body ($mode, no older)");
}

# a client that stalls mid-body: the body timeout, in S3's words
{
    my $k = 'k/stall';
    my $stored = older($k);
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => $k,
                           body => $data, payload => 'unsigned',
                           send_limit => 100000, wait_response => 1,
                           timeout => 15);
    $t->is_s3_error($r, 400, 'RequestTimeout', 'a stalled body: RequestTimeout');
    untouched($k, $stored, 'stalled body');
}

# ---- refused before the body --------------------------------------------------------------

put_fails('clock 16 minutes behind', 403, 'RequestTimeTooSkewed',
          time => time - 960);
put_fails('clock 16 minutes ahead', 403, 'RequestTimeTooSkewed',
          time => time + 960);
put_fails('a bad request signature', 403, 'SignatureDoesNotMatch',
          bad_signature => 1);
put_fails('x-amz-meta-ssek-* from a client', 400, 'InvalidArgument',
          headers => { 'x-amz-meta-ssek-v' => '1' });
put_fails('x-amz-meta-SSEK-* in capitals', 400, 'InvalidArgument',
          headers => { 'X-Amz-Meta-SSEK-Key' => 'x' });
put_fails('metadata over 2 KB', 400, 'MetadataTooLarge',
          headers => { 'x-amz-meta-big' => 'x' x 2100 });
put_fails('metadata that fits S3 but not with ours', 400, 'MetadataTooLarge',
          headers => { 'x-amz-meta-big' => 'x' x 1900 });
put_fails('SSE-C', 501, 'NotImplemented',
          headers => {
              'x-amz-server-side-encryption-customer-algorithm' => 'AES256',
              'x-amz-server-side-encryption-customer-key'
                  => $t->checksum_b64('sha256', 'k'),
              'x-amz-server-side-encryption-customer-key-md5'
                  => $t->checksum_b64('md5', Digest::SHA::sha256('k')) });
put_fails('aws:kms:dsse', 501, 'NotImplemented',
          headers => { 'x-amz-server-side-encryption' => 'aws:kms:dsse' });
put_fails('an unknown SSE algorithm', 400, 'InvalidArgument',
          headers => { 'x-amz-server-side-encryption' => 'AES128' });
put_fails('a key id without aws:kms', 400, 'InvalidArgument',
          headers => { 'x-amz-server-side-encryption' => 'AES256',
                       'x-amz-server-side-encryption-aws-kms-key-id' => 'x' });
put_fails('a KMS key that does not exist', 400, 'KMS.NotFoundException',
          headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                       'x-amz-server-side-encryption-aws-kms-key-id'
                           => '11111111-2222-3333-4444-555555555555' });
put_fails('an alias that does not exist', 400, 'KMS.NotFoundException',
          headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                       'x-amz-server-side-encryption-aws-kms-key-id'
                           => 'alias/nothing-here' });
put_fails('an encryption context that is not base64 JSON', 400,
          'InvalidArgument',
          headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                       'x-amz-server-side-encryption-context' => '!!!' });

# no length at all
{
    my $r = $t->s3_request(method => 'PUT', bucket => $B, key => 'k/nolength',
                           body => '', no_length => 1);
    $t->is_s3_error($r, 411, 'MissingContentLength',
                    'no Content-Length: 411 MissingContentLength');
    my $chunked = "5\r\nhello\r\n0\r\n\r\n";
    $r = $t->s3_request(method => 'PUT', bucket => $B, key => 'k/nolength',
                        body => $chunked, no_length => 1, payload => 'unsigned',
                        unsigned_headers => [['Transfer-Encoding', 'chunked']]);
    $t->is_s3_error($r, 411, 'MissingContentLength',
                    'Transfer-Encoding: chunked without a decoded length: 411');
    untouched('k/nolength', undef, 'no length');
}

# a refusal before the body was read: the unread body is never taken for
# the next request on the connection (the connection closes, as on S3)
{
    my $bad = $t->s3_request_bytes(method => 'PUT', bucket => $B,
        key => 'k/refused', body => 'x' x 10,
        headers => { 'x-amz-server-side-encryption' => 'aws:kms',
                     'x-amz-server-side-encryption-aws-kms-key-id'
                         => 'alias/none' });
    my $next = $t->s3_request_bytes(method => 'GET', bucket => $B,
                                    key => 'k/refused');
    my @res = $t->http_pipeline(requests => [$bad, $next]);
    $t->is_s3_error($res[0], 400, 'KMS.NotFoundException',
                    'a refused PUT with its body unread');
    ok(@res == 1 || ($res[1]{status} == 404 && $res[1]{body} =~ /NoSuchKey/),
       '... the next request is not made of the unread body')
        or diag "$res[1]{status} $res[1]{body}";
    is(($res[0]{headers}{connection} // ''), 'close',
       '... and the connection closes');
}

# ---- GET and HEAD with SSE headers ----------------------------------------------------------

older('k/plain');
for my $h (['x-amz-server-side-encryption', 'aws:kms'],
           ['x-amz-server-side-encryption-aws-kms-key-id', 'alias/aws/s3']) {
    $r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                        headers => { $h->[0] => $h->[1] });
    $t->is_s3_error($r, 400, 'InvalidArgument', "GET with $h->[0]: 400");
    $r = $t->s3_request(method => 'HEAD', bucket => $B, key => 'k/plain',
                        headers => { $h->[0] => $h->[1] });
    is($r->{status}, 400, "HEAD with $h->[0]: 400");
}

# ---- authentication -------------------------------------------------------------------------

$r = $t->http_raw(method => 'GET', target => "/$B/k/plain",
                  headers => [[Host => "127.0.0.1:" . $t->s3_port]]);
$t->is_s3_error($r, 403, 'AccessDenied', 'an anonymous GET: AccessDenied');
{
    local $S3KMS::Test::CRED{nobody} = ['AKIANOBODY0000000000', 'x' x 40];
    $r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                        who => 'nobody');
    $t->is_s3_error($r, 403, 'InvalidAccessKeyId', 'an unknown access key');
}
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    bad_signature => 1);
$t->is_s3_error($r, 403, 'SignatureDoesNotMatch', 'a bad GET signature');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    time => time - 960);
$t->is_s3_error($r, 403, 'RequestTimeTooSkewed', 'a GET 16 minutes old');

# ---- operations off the allow-list ------------------------------------------------------------

my $form = "--xx\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk/post\r\n"
         . "--xx\r\nContent-Disposition: form-data; name=\"file\"; "
         . "filename=\"a\"\r\n\r\nplaintext\r\n--xx--\r\n";
$r = $t->http_raw(method => 'POST', target => "/$B",
                  headers => [[Host => "127.0.0.1:" . $t->s3_port],
                              ['Content-Type', 'multipart/form-data; boundary=xx'],
                              ['Content-Length', length $form]],
                  body => $form);
$t->is_s3_error($r, 501, 'NotImplemented', 'POST Object (a browser form)');
untouched('k/post', undef, 'POST Object');

my $select = '<SelectObjectContentRequest><Expression>select * from s3object'
           . '</Expression><ExpressionType>SQL</ExpressionType>'
           . '</SelectObjectContentRequest>';
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'k/plain',
                    query => { select => '', 'select-type' => 2 },
                    body => $select);
$t->is_s3_error($r, 501, 'NotImplemented', 'SelectObjectContent');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    query => { attributes => '' },
                    headers => { 'x-amz-object-attributes' => 'ObjectSize' });
$t->is_s3_error($r, 501, 'NotImplemented', 'GetObjectAttributes');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    query => { torrent => '' });
$t->is_s3_error($r, 501, 'NotImplemented', 'GetObjectTorrent');
$r = $t->s3_request(method => 'POST', bucket => $B, key => 'k/plain',
                    query => { restore => '' }, body => '<RestoreRequest/>');
$t->is_s3_error($r, 501, 'NotImplemented', 'RestoreObject');
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    query => { 'some-new-subresource' => '' });
$t->is_s3_error($r, 501, 'NotImplemented', 'an unknown subresource');
# CopyObject is supported now (t/gw-copy.t); an SSE-C copy source is not
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'k/copy',
                    headers => { 'x-amz-copy-source' => "/$B/k/plain",
                                 'x-amz-copy-source-server-side-encryption-customer-algorithm' => 'AES256' });
$t->is_s3_error($r, 501, 'NotImplemented', 'CopyObject from an SSE-C source');
untouched('k/copy', undef, 'CopyObject from an SSE-C source');

# ---- nginx's own errors are S3's XML too --------------------------------------------------------

$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/' . ('x' x 20000));
ok($r->{status} >= 400 && ($r->{headers}{'content-type'} // '') =~ /xml/
   && $r->{body} =~ m{<Error><Code>},
   'a request line too long: S3 XML') or diag "$r->{status} $r->{body}";
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'k/plain',
                    unsigned_headers => [['X-Big', 'y' x 20000]]);
ok($r->{status} >= 400 && ($r->{headers}{'content-type'} // '') =~ /xml/
   && $r->{body} =~ m{<Error><Code>},
   'a header too large: S3 XML') or diag "$r->{status} $r->{body}";
$r = $t->http_raw(method => 'GET', target => "/$B/k/plain",
                  headers => [[Host => "127.0.0.1:" . $t->s3_port],
                              ['Content-Length', 'abc']]);
ok($r->{status} == 400 && $r->{body} =~ m{<Error><Code>},
   'a malformed request: S3 XML') or diag "$r->{status} $r->{body}";
$r = $t->http_raw(method => 'TRACE', target => "/$B/k/plain",
                  headers => [[Host => "127.0.0.1:" . $t->s3_port]]);
ok($r->{status} >= 400 && $r->{body} =~ m{<Error><Code>},
   'TRACE: S3 XML') or diag "$r->{status} $r->{body}";

$t->done;
