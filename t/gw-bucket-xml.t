# Client XML the gateway reads (PutBucketEncryption, DeleteObjects,
# CompleteMultipartUpload): malformed, oversized and entity-laden bodies
# (billion laughs, external entities, a DOCTYPE, another encoding) each
# get their S3 error; nothing of them reaches the backend or Redis; no
# worker dies and nginx keeps serving.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-bucket-xml');
$t->start_redis;
$t->start_moto;
$t->start_nginx;

sub rcli { my $x = $t->redis_cli(@_) // ''; $x =~ s/\s+\z//; return $x }

my $B = 'xmlbkt';
my $r = $t->s3_request(method => 'PUT', bucket => $B);
is($r->{status}, 200, 'a bucket');
my $data = $t->bytes(1000, 'xml');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'victim', body => $data);
is($r->{status}, 200, 'an object');

my $master = $t->slurp($t->dir . '/nginx.pid') =~ s/\s+//gr;
my @workers = sort map { /^\s*(\d+)/ ? $1 : () }
              `ps -o pid= --ppid $master`;
is(scalar @workers, 2, 'two workers');

my $NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
my $sse_ok = "<ServerSideEncryptionConfiguration $NS><Rule>"
           . '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256'
           . '</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>'
           . '</ServerSideEncryptionConfiguration>';
my $del_ok = "<Delete $NS><Object><Key>victim</Key></Object></Delete>";
my $cmu_ok = "<CompleteMultipartUpload $NS><Part><PartNumber>1</PartNumber>"
           . '<ETag>"0123456789abcdef0123456789abcdef"</ETag></Part>'
           . '</CompleteMultipartUpload>';

my $laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    . join('', map { my $p = $_ - 1;
                     "<!ENTITY lol$_ \"" . ("&lol$p;" x 10) . '">' } 1 .. 9)
    . ']>';
$laughs =~ s/&lol0;/&lol;/g;

# [name, body (from the valid document of the operation), code]
sub cases {
    my ($ok, $root) = @_;
    (my $inner = $ok) =~ s/^<\Q$root\E[^>]*>//;
    $inner =~ s{</\Q$root\E>$}{};
    return (
        ['not well-formed', substr($ok, 0, length($ok) - 7), 'MalformedXML'],
        ['not XML at all', 'hello, world', 'MalformedXML'],
        ['another root element', "<Something $NS/>", 'MalformedXML'],
        ['billion laughs',
         "$laughs<$root $NS>&lol9;$inner</$root>", 'MalformedXML'],
        ['an external entity',
         '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM '
         . '"file:///etc/passwd">]>' . "<$root $NS>&ext;$inner</$root>",
         'MalformedXML'],
        ['an external DTD',
         '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">'
         . $ok, 'MalformedXML'],
        ['a bare DOCTYPE', "<!DOCTYPE $root>$ok", 'MalformedXML'],
        ['a parameter entity',
         '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM '
         . '"http://127.0.0.1:9/p">%p;]>' . $ok, 'MalformedXML'],
        ['an undeclared entity', "<$root $NS>&nope;$inner</$root>",
         'MalformedXML'],
        ['UTF-16', "\xff\xfe" . join('', map { "$_\0" } split //,
                                      '<?xml version="1.0" encoding="UTF-16"?>'
                                      . $ok), 'MalformedXML'],
    );
}

my $big_sse = "<ServerSideEncryptionConfiguration $NS><Rule>"
            . ('<!-- padding -->' x 6000) . '</Rule>'
            . '</ServerSideEncryptionConfiguration>';
my $huge_sse = $big_sse . (' ' x 200000);
my $big_del = "<Delete $NS>"
            . join('', map { "<Object><Key>k$_" . ('x' x 3000)
                             . '</Key></Object>' } 1 .. 1000) . '</Delete>';

# ---- PutBucketEncryption ------------------------------------------------------------------

for my $c (cases($sse_ok, 'ServerSideEncryptionConfiguration'),
           ['over 64 KiB', $big_sse, 'MaxMessageLengthExceeded'],
           ['far over 64 KiB', $huge_sse, 'MaxMessageLengthExceeded']) {
    my ($name, $body, $code) = @$c;
    my $x = $t->s3_request(method => 'PUT', bucket => $B,
                           query => { encryption => '' }, body => $body);
    $t->is_s3_error($x, 400, $code, "PutBucketEncryption, $name: $code");
}
is(rcli('EXISTS', "ssek:bucket:{$B}"), '0', '... none of them was kept');
$r = $t->s3_request(method => 'PUT', bucket => $B, query => { encryption => '' },
                    body => $sse_ok);
is($r->{status}, 200, '... while a good one is') or diag $r->{body};

# ---- DeleteObjects ------------------------------------------------------------------------------

for my $c (cases($del_ok, 'Delete'),
           ['over 2 MiB', $big_del, 'MaxMessageLengthExceeded'],
           ['over 8 MiB', $big_del . (' ' x (8 << 20)),
            'MaxMessageLengthExceeded'],
           ['no object', "<Delete $NS></Delete>", 'MalformedXML'],
           ['1,001 objects', "<Delete $NS>"
            . join('', map { "<Object><Key>k$_</Key></Object>" } 1 .. 1001)
            . '</Delete>', 'MalformedXML']) {
    my ($name, $body, $code) = @$c;
    my $x = $t->s3_request(method => 'POST', bucket => $B,
                           query => { delete => '' }, body => $body,
                           headers => { 'content-md5' => $t->checksum_b64('md5', $body) });
    $t->is_s3_error($x, 400, $code, "DeleteObjects, $name: $code");
}
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'victim');
ok($r->{status} == 200 && $r->{body} eq $data,
   '... the object they named was never deleted');
is(rcli('EXISTS', "ssek:obj:{$B}:victim"), '1', '... nor its index entry');

# ---- CompleteMultipartUpload ----------------------------------------------------------------------

$r = $t->s3('s3api', 'create-multipart-upload', '--bucket', $B, '--key', 'mpu');
my $upload = $r->{json}{UploadId};
{
    ok($upload, 'a multipart upload') or diag $r->{err};
    for my $c (cases($cmu_ok, 'CompleteMultipartUpload'),
               ['over 4 MiB', "<CompleteMultipartUpload $NS>"
                . ('<!-- padding -->' x 300000) . '</CompleteMultipartUpload>',
                'MaxMessageLengthExceeded']) {
        my ($name, $body, $code) = @$c;
        my $x = $t->s3_request(method => 'POST', bucket => $B, key => 'mpu',
                               query => { uploadId => $upload // 'none' },
                               body => $body);
        $t->is_s3_error($x, 400, $code,
                        "CompleteMultipartUpload, $name: $code");
    }
}

# ---- nginx keeps serving ---------------------------------------------------------------------------

my @after = sort map { /^\s*(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
is_deeply(\@after, \@workers, 'the same two workers: none died');
$r = $t->s3_request(method => 'PUT', bucket => $B, key => 'still', body => $data);
is($r->{status}, 200, 'a PUT after all that') or diag $r->{body};
$r = $t->s3_request(method => 'GET', bucket => $B, key => 'still');
ok($r->{status} == 200 && $r->{body} eq $data, '... and its GET');
$r = $t->s3('s3api', 'delete-objects', '--bucket', $B, '--delete',
            '{"Objects":[{"Key":"victim"},{"Key":"still"}]}');
is(scalar @{$r->{json}{Deleted} // []}, 2, 'a good DeleteObjects deletes')
    or diag $r->{err};
unlike($t->error_log, qr/exited on signal|\[alert\]|\[crit\]/,
       'error.log: no worker crash, no alert');

$t->done;
