# The AWS SDK for JavaScript v3 through the gateway, over HTTP and HTTPS
# (t/js/gw-s3.mjs).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gw-js');
$t->start_redis;
$t->start_moto;
$t->start_nginx(
    tls => 1,
    http => "    log_format js '\$server_port \$request_method \$uri \$status "
          . "\"\$http_x_amz_content_sha256\" \"\$http_x_amz_trailer\"';\n",
    gateway => "            access_log %%DIR%%/js.log js;");

my $d = $t->dir;
my $F = 65536;
my @sizes = (0, 1, $F - 1, $F, $F + 1, 3 * $F + 5);
$t->make_file("f-$_", $_) for @sizes;
my $key = $t->aws(qw(kms create-key --description gw-js))->{json}{KeyMetadata};

sub js {
    my ($endpoint, $prefix, %env) = @_;
    my $r = $t->node("$S3KMS::Test::TOP/t/js/gw-s3.mjs",
                     args => [$endpoint, 'jsbkt', $prefix, $key->{Arn}, $d,
                              join(',', @sizes)],
                     env => \%env);
    my $res = eval { $t->json_decode($r->{out}) };
    ok($res && @$res, "the JS SDK ran ($prefix)") or diag $r->{err}, $r->{out};
    ok($_->{ok}, "js $_->{name}") || diag $_->{info} for @{$res || []};
}

js($t->s3_endpoint, 'http');
js($t->s3_tls_endpoint, 'https', NODE_EXTRA_CA_CERTS => $t->ca_file);

my @log = split /\n/, $t->slurp("$d/js.log");
ok(grep({ m{ PUT /jsbkt/https/stream 200 "STREAMING-UNSIGNED-PAYLOAD-TRAILER" "x-amz-checksum-crc32"} } @log),
   'the stream body came aws-chunked with a CRC32 trailer')
    or diag join "\n", grep { /PUT/ } @log;
$t->stored_ok('jsbkt', 'https/' . ($F + 1), $t->slurp("$d/f-" . ($F + 1)),
              "the JS SDK's object is stored encrypted", alg => 'AES256');

$t->done;
