# nginx's upstream features under the gateway (issue 3: "keepalive to the
# backend, TLS to the backend, several backend servers"):
#   - an upstream{} block of two servers with keepalive, in front of a
#     plain WebDAV nginx (201 for a new file, 204 for an overwrite, no
#     ETag, no metadata): answers as S3's, connections reused;
#   - TLS to the backend (moto over https), verified against a CA, and
#     refused (S3's 503, nothing stored) against the wrong one.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Path qw(make_path);
use S3KMS::Test;

my $t = S3KMS::Test->new;
my $d = $t->dir;
$t->start_redis;
$t->make_ca;
$t->allow_log(qr/SSL_do_handshake\(\) failed|certificate verify failed/);

# ---- the backends ------------------------------------------------------------

# a WebDAV nginx (no module): a dumb store that keeps what it is sent
my $dav_port = S3KMS::Test::free_port();
make_path("$d/dav/root/bucket1", "$d/dav/tmp");
chmod 0777, "$d/dav", "$d/dav/root", "$d/dav/root/bucket1", "$d/dav/tmp";
open my $f, '>', "$d/dav/nginx.conf" or die $!;
print $f <<"EOF";
worker_processes 1;
pid $d/dav/nginx.pid;
error_log $d/dav/error.log info;
events { worker_connections 256; }
http {
    log_format conn '\$connection \$connection_requests \$request_method \$status';
    access_log $d/dav/access.log conn;
    client_body_temp_path $d/dav/tmp;
    client_max_body_size 0;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:$dav_port;
        root $d/dav/root;
        dav_methods PUT DELETE;
        create_full_put_path on;
    }
}
EOF
close $f;
$t->spawn('dav', ['nginx', '-p', "$d/dav", '-c', "$d/dav/nginx.conf",
                  '-e', "$d/dav/error.log", '-g', 'daemon off;']);
$t->wait_port($dav_port) or BAIL_OUT('the WebDAV backend did not start');

# moto over TLS, with a certificate of the test CA
my $tls_port = S3KMS::Test::free_port();
$t->spawn('moto-tls', ['moto_server', '-H', '127.0.0.1', '-p', $tls_port,
                       '-s', '-c', "$d/tls/server.pem",
                       '-k', "$d/tls/server.key"]);
$t->wait_port($tls_port, 30) or BAIL_OUT('moto over TLS did not start');

# ---- the gateway: three locations -----------------------------------------------

my $s3 = S3KMS::Test::free_port();
my ($bk, $bs) = @S3KMS::Test::BACKEND_CRED;
$t->start_nginx(http => <<"EOF");
    upstream dav {
        server 127.0.0.1:$dav_port;
        server 127.0.0.1:$dav_port;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:$s3;
        client_max_body_size 0;
        location / {
            s3_kms_gateway on;
            s3_kms_backend http://dav $bk $bs;
        }
        location /tls-bucket {
            s3_kms_gateway on;
            s3_kms_backend https://localhost:$tls_port $bk $bs;
            s3_kms_backend_ssl_trusted_certificate $d/tls/ca.pem;
        }
        location /tls-wrong-ca {
            s3_kms_gateway on;
            s3_kms_backend https://localhost:$tls_port $bk $bs;
            s3_kms_backend_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
        }
    }
EOF

sub req { $t->s3_request(port => $s3, @_) }

my $body = join '', map { chr(($_ * 31 + 7) % 256) } 1 .. 200_000;

# ---- WebDAV behind an upstream block ---------------------------------------------

my $r = req(method => 'PUT', bucket => 'bucket1', key => 'obj', body => $body);
is($r->{status}, 200, 'a PUT the store answers 201 Created is answered 200, as S3 does')
    or diag $r->{body};
ok(-s "$d/dav/root/bucket1/obj", 'the store holds the object');
my $stored = $t->slurp("$d/dav/root/bucket1/obj");
is(substr($stored, 0, 4), 'SSEK', 'in the SSEK format');
is(length $stored, 72 + 200_000 + 16 * 4, 'of 72 + L + 16n bytes');

$r = req(method => 'PUT', bucket => 'bucket1', key => 'obj', body => $body);
is($r->{status}, 200,
   'an overwrite the store answers 204 No Content is answered 200, at once')
    or diag $r->{body};

$r = req(method => 'GET', bucket => 'bucket1', key => 'obj');
is($r->{status}, 200, 'GET from a store that sends no ETag nor metadata');
is(sha256_hex($r->{body} // ''), sha256_hex($body),
   'comes back byte-identical (metadata and header from the index)');

$r = req(method => 'GET', bucket => 'bucket1', key => 'obj',
         headers => { range => 'bytes=65530-65545' });
is($r->{status}, 206, 'a ranged GET across a frame edge: 206');
is($r->{body}, substr($body, 65530, 16), 'with the right bytes');

for my $i (1 .. 10) {
    req(method => 'PUT', bucket => 'bucket1', key => "k$i", body => "v$i");
    req(method => 'GET', bucket => 'bucket1', key => "k$i");
}
my (%per_conn, $requests);
for (split /\n/, $t->slurp("$d/dav/access.log")) {
    my ($conn, $n) = split;
    $per_conn{$conn} = $n if !$per_conn{$conn} || $n > $per_conn{$conn};
    $requests++;
}
cmp_ok(scalar keys %per_conn, '<', $requests / 2,
       'keepalive: the backend saw far fewer connections than requests')
    or diag "$requests requests on " . scalar(keys %per_conn) . " connections";

# ---- TLS to the backend ------------------------------------------------------------

$r = $t->run(['aws', 's3api', 'create-bucket', '--bucket', 'tls-bucket',
              '--endpoint-url', "https://localhost:$tls_port"],
             env => { AWS_ACCESS_KEY_ID => $bk, AWS_SECRET_ACCESS_KEY => $bs,
                      AWS_CA_BUNDLE => "$d/tls/ca.pem" });
is($r->{rc}, 0, 'a bucket at the TLS backend') or diag $r->{err};

$r = req(method => 'PUT', bucket => 'tls-bucket', key => 'secret',
         body => $body);
is($r->{status}, 200, 'PUT through TLS to the backend, its certificate verified')
    or diag $r->{body};
$r = req(method => 'GET', bucket => 'tls-bucket', key => 'secret');
is(sha256_hex($r->{body} // ''), sha256_hex($body),
   'and back, byte-identical') or diag "$r->{status} " . substr($r->{body} // '', 0, 300);
$r = req(method => 'PUT', bucket => 'tls-bucket', key => 'secret-copy',
         headers => { 'x-amz-copy-source' => '/tls-bucket/secret' });
is($r->{status}, 200, 'CopyObject with the source and the target at the TLS backend')
    or diag $r->{body};
$r = req(method => 'GET', bucket => 'tls-bucket', key => 'secret-copy');
is(sha256_hex($r->{body} // ''), sha256_hex($body), '... the copy reads back')
    or diag "$r->{status} " . substr($r->{body} // '', 0, 300);

$r = $t->run(['aws', 's3api', 'create-bucket', '--bucket', 'tls-wrong-ca',
              '--endpoint-url', "https://localhost:$tls_port"],
             env => { AWS_ACCESS_KEY_ID => $bk, AWS_SECRET_ACCESS_KEY => $bs,
                      AWS_CA_BUNDLE => "$d/tls/ca.pem" });
$r = req(method => 'PUT', bucket => 'tls-wrong-ca', key => 'x', body => 'data');
is($r->{status}, 503,
   'a backend certificate the trust store does not vouch for: 503');
like($r->{body} // '', qr{<Code>ServiceUnavailable</Code>},
     'as S3\'s XML') or diag $r->{body};
$r = $t->run(['aws', 's3api', 'head-object', '--bucket', 'tls-wrong-ca',
              '--key', 'x', '--endpoint-url', "https://localhost:$tls_port"],
             env => { AWS_ACCESS_KEY_ID => $bk, AWS_SECRET_ACCESS_KEY => $bs,
                      AWS_CA_BUNDLE => "$d/tls/ca.pem" });
isnt($r->{rc}, 0, 'and nothing was stored');

$t->done;
