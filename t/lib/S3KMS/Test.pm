package S3KMS::Test;

# The end-to-end test harness: real nginx with the module, real Redis, real
# S3 backends, real clients.  Each test file makes one S3KMS::Test, which
# owns a temporary directory, starts what the test needs on free 127.0.0.1
# ports, stops every process by its PID at the end, and checks that
# nginx's error.log holds no [alert], [crit] or [emerg] (and, under
# `make test-asan`, that no sanitizer report was written).
#
#   use S3KMS::Test;
#   my $t = S3KMS::Test->new;
#   $t->start_redis;
#   $t->start_nginx(kms => 1);
#   my $r = $t->aws(qw(kms create-key));
#   ...
#   $t->done;              # stops everything, checks the logs, done_testing

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha256_hex);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(strftime :sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

our $TOP = abs_path(__FILE__) =~ s{/t/lib/S3KMS/Test\.pm$}{}r;
our @INSTANCES;

my $json = JSON::PP->new->canonical->allow_nonref;

# Identities of every test: two users of account 111122223333, one user of
# each of two other accounts (the cross-account cases).
our %CRED = (
    alice => ['AKIAALICE00000000001', 'aliceSecretKey/0000000000000000000000001',
              '111122223333', 'arn:aws:iam::111122223333:user/alice'],
    bob   => ['AKIABOB0000000000002', 'bobSecretKey/00000000000000000000000002',
              '111122223333', 'arn:aws:iam::111122223333:user/bob'],
    carol => ['AKIACAROL00000000003', 'carolSecretKey/0000000000000000000000003',
              '444455556666', 'arn:aws:iam::444455556666:user/carol'],
    dave  => ['AKIADAVE000000000004', 'daveSecretKey/00000000000000000000000004',
              '777788889999', 'arn:aws:iam::777788889999:user/dave'],
);


sub new {
    my ($class, %opt) = @_;

    my $name = $opt{name} // ($0 =~ s{.*/}{}r =~ s{\.t$}{}r);
    make_path("$TOP/t/tmp");
    my $dir = tempdir("$name-XXXXXX", DIR => "$TOP/t/tmp",
                      CLEANUP => !$ENV{S3KMS_KEEP});
    chmod 0755, $dir;

    my $self = bless {
        name    => $name,
        dir     => $dir,
        procs   => {},
        region  => 'us-east-1',
        allow   => [],
    }, $class;

    push @INSTANCES, $self;
    return $self;
}

sub dir { $_[0]{dir} }
sub region { $_[0]{region} }

# ---- processes ---------------------------------------------------------------

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_port {
    my ($self, $port, $timeout) = @_;
    my $end = time + ($timeout // 15);
    while (time < $end) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1 }
        sleep 0.05;
    }
    return 0;
}

# Starts a process in the foreground of its own, records its PID.
sub spawn {
    my ($self, $name, $cmd, %opt) = @_;
    my $log = "$self->{dir}/$name.out";
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        %ENV = (%ENV, %{$opt{env} || {}});
        exec @$cmd or POSIX::_exit(127);
    }
    $self->{procs}{$name} = $pid;
    return $pid;
}

sub stop {
    my ($self, $name, $sig) = @_;
    my $pid = delete $self->{procs}{$name} or return;
    kill $sig // 'TERM', $pid;
    my $end = time + 15;
    while (time < $end) {
        return 1 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return 0;
}

sub pid { $_[0]{procs}{$_[1]} }

# ---- Redis -------------------------------------------------------------------

sub start_redis {
    my ($self, %opt) = @_;
    my $port = $self->{redis_port} //= free_port();
    my $rdir = "$self->{dir}/redis";
    make_path($rdir);
    my $conf = "$rdir/redis.conf";
    open my $f, '>', $conf or croak $!;
    print $f "bind 127.0.0.1\nport $port\ndir $rdir\ndaemonize no\n",
             "appendonly yes\nappendfsync always\nsave \"\"\n",
             "protected-mode yes\nlogfile $rdir/redis.log\n";
    print $f "requirepass $opt{password}\n" if $opt{password};
    close $f;
    $self->{redis_password} = $opt{password};
    $self->spawn('redis', ['redis-server', $conf]);
    $self->wait_port($port) or croak "redis did not start";
    # answers once loaded
    for (1 .. 100) {
        last if ($self->redis_cli('PING') // '') =~ /PONG/;
        sleep 0.05;
    }
    return $port;
}

sub stop_redis { $_[0]->stop('redis') }

sub redis_port { $_[0]{redis_port} }

# ---- S3 backends -----------------------------------------------------------------

our @BACKEND_CRED = ('backendAKID', 'backendSecretKey');

# moto's S3 server (the package the machine's python3 has)
sub start_moto {
    my ($self) = @_;
    my $port = $self->{backend_port} //= free_port();
    $self->{backend_kind} = 'moto';
    $self->{backend_cred} = [@BACKEND_CRED];
    $self->spawn('moto', ['moto_server', '-H', '127.0.0.1', '-p', $port],
                 env => { MOTO_ALLOW_NONEXISTENT_REGION => 'true' });
    $self->wait_port($port, 30) or croak "moto_server did not start: "
        . $self->slurp("$self->{dir}/moto.out");
    return $port;
}

# s3rver (npm, t/js/node_modules): a second backend, with its fixed key
sub start_s3rver {
    my ($self) = @_;
    my $port = $self->{backend_port} //= free_port();
    $self->{backend_kind} = 's3rver';
    $self->{backend_cred} = ['S3RVER', 'S3RVER'];
    make_path("$self->{dir}/s3rver");
    $self->spawn('s3rver', ['node', "$TOP/t/js/node_modules/s3rver/bin/s3rver.js",
                            '-d', "$self->{dir}/s3rver", '-a', '127.0.0.1',
                            '-p', $port, '--silent']);
    $self->wait_port($port, 30) or croak "s3rver did not start: "
        . $self->slurp("$self->{dir}/s3rver.out");
    return $port;
}

sub stop_backend { $_[0]->stop($_[0]{backend_kind}) }

sub restart_backend {
    my ($self) = @_;
    $self->stop_backend;
    return $self->{backend_kind} eq 's3rver' ? $self->start_s3rver
                                             : $self->start_moto;
}

sub backend_cred { @{$_[0]{backend_cred} || [@BACKEND_CRED]} }

sub backend_endpoint { "http://127.0.0.1:$_[0]{backend_port}" }
sub s3_endpoint { "http://127.0.0.1:$_[0]{s3_port}" }

# aws s3 / s3api through the gateway
sub s3 {
    my ($self, @args) = @_;
    my %opt = ref $args[-1] eq 'HASH' ? %{pop @args} : ();
    return $self->aws(@args, { endpoint => $self->s3_endpoint, %opt });
}

# aws s3api straight to the backend, with the backend's own key
sub backend {
    my ($self, @args) = @_;
    my %opt = ref $args[-1] eq 'HASH' ? %{pop @args} : ();
    my $env = delete $opt{env} || {};
    return $self->run(['aws', @args, '--endpoint-url',
                       $self->backend_endpoint, '--output', 'json'],
                      env => { AWS_ACCESS_KEY_ID => ($self->backend_cred)[0],
                               AWS_SECRET_ACCESS_KEY => ($self->backend_cred)[1],
                               %$env },
                      %opt);
}

sub redis_cli {
    my ($self, @args) = @_;
    my @cmd = ('redis-cli', '-h', '127.0.0.1', '-p', $self->{redis_port});
    push @cmd, '--no-auth-warning', '-a', $self->{redis_password}
        if $self->{redis_password};
    open my $p, '-|', @cmd, @args or croak "redis-cli: $!";
    local $/;
    my $out = <$p>;
    close $p;
    chomp $out if defined $out;
    return $out;
}

# One Redis command over RESP, binary-safe both ways: a string, an
# integer, undef (nil) or an array ref; an error dies.
sub redis_cmd {
    my ($self, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{redis_port},
                                  Proto => 'tcp', Timeout => 5)
        or croak "redis: $!";
    binmode $s;
    my @cmd = $self->{redis_password} ? (['AUTH', $self->{redis_password}])
                                      : ();
    push @cmd, \@args;
    my $req = '';
    for my $c (@cmd) {
        $req .= '*' . @$c . "\r\n";
        $req .= '$' . length($_) . "\r\n$_\r\n" for @$c;
    }
    print $s $req;
    my $read = sub {
        my $line = <$s>;
        croak "redis: connection closed" unless defined $line;
        $line =~ s/\r\n\z//;
        return $line;
    };
    my $reply;
    $reply = sub {
        my $l = $read->();
        my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
        return $v if $t eq '+';
        croak "redis: $v" if $t eq '-';
        return 0 + $v if $t eq ':';
        if ($t eq '$') {
            return undef if $v < 0;
            my $buf = '';
            while (length $buf < $v + 2) {
                read($s, $buf, $v + 2 - length $buf, length $buf) or last;
            }
            return substr($buf, 0, $v);
        }
        if ($t eq '*') {
            return undef if $v < 0;
            return [map { $reply->() } 1 .. $v];
        }
        croak "redis: odd reply $l";
    };
    $reply->() for 1 .. $#cmd;
    my $r = $reply->();
    close $s;
    return $r;
}

# ---- keys and credentials ------------------------------------------------------

sub write_root_key {
    my ($self, $path, $bytes) = @_;
    $path //= "$self->{dir}/root.key";
    unless (defined $bytes) {
        open my $r, '<:raw', '/dev/urandom' or croak $!;
        read($r, $bytes, 32) == 32 or croak "urandom";
        close $r;
    }
    open my $f, '>:raw', $path or croak $!;
    print $f $bytes;
    close $f;
    chmod 0600, $path;
    return $path;
}

sub write_credentials {
    my ($self, $path, @names) = @_;
    $path //= "$self->{dir}/credentials";
    @names = sort keys %CRED unless @names;
    open my $f, '>', $path or croak $!;
    print $f "# access-key-id secret account-id principal-arn\n";
    print $f join(' ', @{$CRED{$_}}), "\n" for @names;
    close $f;
    chmod 0600, $path;
    return $path;
}

sub cred { $CRED{$_[1] // 'alice'} }

# ---- nginx -------------------------------------------------------------------

sub module_path {
    return $ENV{S3KMS_MODULE}
        // "$TOP/build/nginx/objs/ngx_http_s3_kms_module.so";
}

# The configuration: a template with %%NAME%% placeholders, or the default
# one (KMS API on a free port) when none is given.
sub nginx_conf {
    my ($self, %opt) = @_;
    my $d = $self->{dir};
    $self->{kms_port} //= free_port();
    $self->{s3_port} //= free_port() if $self->{backend_port};
    my %v = (
        DIR        => $d,
        S3_PORT    => $self->{s3_port} // 0,
        BACKEND    => $self->{backend_port}
                      ? "http://127.0.0.1:$self->{backend_port}" : '',
        BACKEND_KEY => join(' ', $self->backend_cred),
        S3_TLS_PORT => $self->{s3_tls_port} // 0,
        MODULE     => module_path(),
        REDIS_PORT => $self->{redis_port} // 6379,
        KMS_PORT   => $self->{kms_port},
        ROOT_KEY   => $opt{root_key} // "$d/root.key",
        CREDS      => $opt{credentials} // "$d/credentials",
        REGION     => $self->{region},
        LOG_LEVEL  => $opt{log_level} // $ENV{S3KMS_LOG_LEVEL} // 'info',
        %{$opt{vars} || {}},
    );
    my $http = $opt{http} // '';
    my $gw = $opt{gateway} // '';
    if ($self->{backend_port} && !$opt{no_gateway}) {
        my $tls = '';
        if ($opt{tls}) {
            $self->make_ca;
            $self->{s3_tls_port} //= free_port();
            $v{S3_TLS_PORT} = $self->{s3_tls_port};
            $tls = "        listen 127.0.0.1:%%S3_TLS_PORT%% ssl;\n"
                 . "        ssl_certificate %%DIR%%/tls/server.pem;\n"
                 . "        ssl_certificate_key %%DIR%%/tls/server.key;\n";
        }
        my $srv = $opt{server} // '';
        $http .= <<"EOF";
    server {
        listen 127.0.0.1:%%S3_PORT%%;
$tls$srv
        client_max_body_size 0;
        location / {
            s3_kms_gateway on;
            s3_kms_backend %%BACKEND%% %%BACKEND_KEY%%;
$gw
        }
    }
EOF
    }
    my $main = $opt{main} // '';
    my $conf = $opt{conf} // <<"EOF";
load_module %%MODULE%%;
worker_processes 2;
pid %%DIR%%/nginx.pid;
error_log %%DIR%%/error.log %%LOG_LEVEL%%;
$main
events { worker_connections 1024; }
http {
    access_log %%DIR%%/access.log;
    client_body_temp_path %%DIR%%/client_body_temp;
    proxy_temp_path %%DIR%%/proxy_temp;
    fastcgi_temp_path %%DIR%%/fastcgi_temp;
    uwsgi_temp_path %%DIR%%/uwsgi_temp;
    scgi_temp_path %%DIR%%/scgi_temp;

    s3_kms_redis 127.0.0.1:%%REDIS_PORT%%;
    s3_kms_root_key_file %%ROOT_KEY%%;
    s3_kms_credentials %%CREDS%%;
    s3_kms_region %%REGION%%;
    s3_kms_audit_log %%DIR%%/audit.log flush=100ms;
$http
    server {
        listen 127.0.0.1:%%KMS_PORT%%;
        location / { s3_kms_api; }
    }
}
EOF
    $conf =~ s/%%(\w+)%%/exists $v{$1} ? $v{$1} : croak "no value for %%$1%%"/ge;
    open my $f, '>', "$d/nginx.conf" or croak $!;
    print $f $conf;
    close $f;
    return "$d/nginx.conf";
}

sub nginx_env {
    my %env;
    if ($ENV{S3KMS_ASAN}) {
        my $rt = `gcc -print-file-name=libasan.so`;
        chomp $rt;
        $env{LD_PRELOAD} = $rt;
        $env{ASAN_OPTIONS} = "detect_leaks=0:abort_on_error=0:"
            . "log_path=$_[0]{dir}/asan:detect_odr_violation=0";
        $env{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$_[0]{dir}/ubsan";
    }
    return %env;
}

sub nginx_test {
    my ($self) = @_;
    my %env = $self->nginx_env;
    local @ENV{keys %env} = values %env;
    my $out = `nginx -t -p $self->{dir} -c $self->{dir}/nginx.conf -e $self->{dir}/error.log 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx {
    my ($self, %opt) = @_;
    $self->write_root_key unless -e "$self->{dir}/root.key" || $opt{root_key};
    $self->write_credentials unless -e "$self->{dir}/credentials"
                                    || $opt{credentials};
    $self->nginx_conf(%opt) unless $opt{keep_conf};
    my %env = $self->nginx_env;
    $self->spawn('nginx', ['nginx', '-p', $self->{dir}, '-c',
                           "$self->{dir}/nginx.conf", '-e',
                           "$self->{dir}/error.log",
                           '-g', 'daemon off; master_process on;'],
                 env => \%env);
    $self->wait_port($self->{kms_port}) or croak "nginx did not start: "
        . $self->slurp("$self->{dir}/nginx.out") . $self->slurp("$self->{dir}/error.log");
    $self->wait_kms_ready unless $opt{no_wait};
    return $self->{kms_port};
}

sub stop_nginx { $_[0]->stop('nginx', 'QUIT') }

sub restart_nginx {
    my ($self, %opt) = @_;
    $self->stop_nginx;
    $self->start_nginx(keep_conf => 1, %opt);
}

# Both workers must have loaded the key ring: ask until two answers in a
# row are not DependencyTimeoutException.
sub wait_kms_ready {
    my ($self, $timeout) = @_;
    my $end = time + ($timeout // 15);
    my $ok = 0;
    while (time < $end) {
        my $r = $self->kms_raw('ListKeys', '{}');
        if ($r->{status} == 200) {
            return 1 if ++$ok >= 4;
        } else {
            $ok = 0;
        }
        sleep 0.05;
    }
    return 0;
}

sub kms_endpoint { "http://127.0.0.1:$_[0]{kms_port}" }

sub error_log { $_[0]->slurp("$_[0]{dir}/error.log") }
sub audit_log { $_[0]->slurp("$_[0]{dir}/audit.log") }

# Audit records, parsed; waits for the flush (100 ms in tests).
sub audit_records {
    my ($self, $min) = @_;
    my $end = time + 5;
    my @r;
    while (1) {
        @r = map { $json->decode($_) } grep { /\S/ } split /\n/,
             $self->audit_log;
        last if !$min || @r >= $min || time > $end;
        sleep 0.05;
    }
    return @r;
}

# Error log lines that are expected in this test (regexps): not reported.
sub allow_log { my $self = shift; push @{$self->{allow}}, @_ }

sub slurp {
    my ($self, $path) = @_;
    open my $f, '<:raw', $path or return '';
    local $/;
    my $s = <$f>;
    return $s // '';
}

# ---- clients -----------------------------------------------------------------

sub client_env {
    my ($self, $who) = @_;
    my $c = $CRED{$who // 'alice'} or croak "no identity $who";
    return (
        AWS_ACCESS_KEY_ID => $c->[0],
        AWS_SECRET_ACCESS_KEY => $c->[1],
        AWS_DEFAULT_REGION => $self->{region},
        AWS_REGION => $self->{region},
        AWS_CONFIG_FILE => '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE => '/dev/null',
        AWS_EC2_METADATA_DISABLED => 'true',
        AWS_PAGER => '',
        AWS_RETRY_MODE => 'standard',
        AWS_MAX_ATTEMPTS => '2',
    );
}

# Runs a command with the given identity's environment:
# { rc, out, err, json (decoded out, if any) }.
sub run {
    my ($self, $cmd, %opt) = @_;
    my %env = ($self->client_env($opt{as}), %{$opt{env} || {}});
    local @ENV{keys %env} = values %env;
    my $out = "$self->{dir}/cmd.out";
    my $err = "$self->{dir}/cmd.err";
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $opt{stdin} // '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec @$cmd or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my %r = (rc => $? >> 8, out => $self->slurp($out),
             err => $self->slurp($err));
    $r{json} = eval { $json->decode($r{out}) } if $r{out} =~ /^\s*[\{\[]/;
    return \%r;
}

# aws CLI against our KMS endpoint (or another with endpoint => URL)
sub aws {
    my ($self, @args) = @_;
    my %opt = ref $args[-1] eq 'HASH' ? %{pop @args} : ();
    my $endpoint = $opt{endpoint} // $self->kms_endpoint;
    return $self->run(['aws', @args, '--endpoint-url', $endpoint,
                       '--output', 'json'], %opt);
}

sub python {
    my ($self, $code, %opt) = @_;
    return $self->run(['python3', '-c', $code, @{$opt{args} || []}], %opt);
}

sub node {
    my ($self, $script, %opt) = @_;
    local $ENV{NODE_PATH} = "$TOP/t/js/node_modules";
    return $self->run(['node', $script, @{$opt{args} || []}], %opt);
}

# ---- raw signed requests ---------------------------------------------------------

sub uri_escape {
    my ($s, $keep_slash) = @_;
    my $safe = $keep_slash ? 'A-Za-z0-9\-._~/' : 'A-Za-z0-9\-._~';
    $s =~ s/([^$safe])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# SigV4 (header form).  %o: method, host, path, query (hashref or string),
# headers (hashref), body, region, service, who, time (epoch),
# payload_hash (string to sign instead of the body's hash).
sub sigv4_headers {
    my (%o) = @_;
    my $c = $CRED{$o{who} // 'alice'};
    my $t = $o{time} // time;
    my $amz = strftime('%Y%m%dT%H%M%SZ', gmtime $t);
    my $date = substr $amz, 0, 8;
    my %h = (%{$o{headers} || {}});
    $h{host} //= $o{host};
    $h{'x-amz-date'} = $amz;
    my $ph = $o{payload_hash} // sha256_hex($o{body} // '');
    $h{'x-amz-content-sha256'} = $ph if $o{service} eq 's3';
    my @names = sort map { lc } keys %h;
    my %lh = map { lc($_) => $h{$_} } keys %h;
    my $canon_headers = join '', map {
        my $v = $lh{$_}; $v =~ s/^\s+|\s+$//g; $v =~ s/\s+/ /g; "$_:$v\n"
    } @names;
    my $signed = join ';', @names;
    my $q = $o{query} // '';
    if (ref $q) {
        $q = join '&', map { uri_escape($_) . '=' . uri_escape($q->{$_}) }
                       sort keys %$q;
    }
    my $path = $o{path} // '/';
    my $creq = join "\n", $o{method} // 'POST', $path, $q, $canon_headers,
                          $signed, $ph;
    my $scope = "$date/$o{region}/$o{service}/aws4_request";
    my $sts = join "\n", 'AWS4-HMAC-SHA256', $amz, $scope, sha256_hex($creq);
    my $k = hmac_sha256($date, "AWS4$c->[1]");
    $k = hmac_sha256($o{region}, $k);
    $k = hmac_sha256($o{service}, $k);
    $k = hmac_sha256('aws4_request', $k);
    my $sig = hmac_sha256_hex($sts, $k);
    $sig = ($sig =~ /^(.)/ && $1 eq '0' ? '1' : '0') . substr($sig, 1)
        if $o{bad_signature};
    $h{Authorization} = "AWS4-HMAC-SHA256 Credential=$c->[0]/$scope, "
                      . "SignedHeaders=$signed, Signature=$sig";
    return (\%h, $sig, $k);
}

# A raw KMS call: { status, headers, content, json }.  %o as sigv4_headers
# plus: unsigned => 1, headers => extra (signed), target => X-Amz-Target.
sub kms_raw {
    my ($self, $op, $body, %o) = @_;
    my $host = "127.0.0.1:$self->{kms_port}";
    my %hdr = ('content-type' => 'application/x-amz-json-1.1',
               'x-amz-target' => "TrentService.$op",
               %{$o{headers} || {}});
    delete $hdr{'x-amz-target'} if defined $op && $op eq '';
    my $h = \%hdr;
    unless ($o{unsigned}) {
        # %o after the defaults, and the merged headers after %o
        ($h) = sigv4_headers(method => 'POST', host => $host, path => '/',
                             body => $body, region => $self->{region},
                             service => 'kms', %o, headers => \%hdr);
    }
    delete $h->{host};
    my $http = HTTP::Tiny->new(timeout => 20);
    my $res = $http->request($o{method} // 'POST',
                             "http://$host/", { headers => $h,
                                                content => $body });
    $res->{json} = eval { $json->decode($res->{content}) };
    return $res;
}

# A keep-alive connection of its own (HTTP::Tiny keeps one per object):
# the requests sent through it go to one worker.
sub kms_conn { HTTP::Tiny->new(timeout => 20, keep_alive => 1) }

# kms_raw through a given connection: kms_call($conn, $op, $body, %o).
sub kms_call {
    my ($self, $http, $op, $body, %o) = @_;
    my $host = "127.0.0.1:$self->{kms_port}";
    my %hdr = ('content-type' => 'application/x-amz-json-1.1',
               'x-amz-target' => "TrentService.$op",
               %{$o{headers} || {}});
    my $h = \%hdr;
    unless ($o{unsigned}) {
        ($h) = sigv4_headers(method => 'POST', host => $host, path => '/',
                             body => $body, region => $self->{region},
                             service => 'kms', %o, headers => \%hdr);
    }
    delete $h->{host};
    my $res = $http->request('POST', "http://$host/",
                             { headers => $h, content => $body });
    $res->{json} = eval { $json->decode($res->{content}) };
    return $res;
}

# nginx's access log with the worker's PID and the request's x-test-tag
# header, for tests that must know which worker answered: pass
# http => $t->pid_log_conf to start_nginx, then worker_of(TAG).
sub pid_log_conf {
    return "    log_format s3kms_pid '\$pid \$http_x_test_tag';\n"
         . "    access_log %%DIR%%/pid.log s3kms_pid;\n";
}

sub worker_of {
    my ($self, $tag) = @_;
    for my $l (reverse split /\n/, $self->slurp("$self->{dir}/pid.log")) {
        return $1 if $l =~ /^(\d+) \Q$tag\E$/;
    }
    return undef;
}

# Waits until a KMS call answers as wanted: $check->($res) true.  Returns
# the last answer and the seconds it took.
sub kms_wait {
    my ($self, $timeout, $check, @call) = @_;
    my $start = time;
    my $res;
    while (1) {
        $res = ref $call[0] ? $self->kms_call(@call) : $self->kms_raw(@call);
        last if $check->($res) || time - $start > $timeout;
        sleep 0.02;
    }
    return ($res, time - $start);
}

# ---- TLS -------------------------------------------------------------------------

# A certificate authority and a server certificate for 127.0.0.1 and
# localhost, made with the openssl CLI in the test directory.
sub make_ca {
    my ($self) = @_;
    my $d = "$self->{dir}/tls";
    return "$d/ca.pem" if -e "$d/server.pem";
    make_path($d);
    open my $f, '>', "$d/server.ext" or croak $!;
    print $f "basicConstraints=CA:FALSE\n",
             "keyUsage=critical,digitalSignature,keyEncipherment\n",
             "extendedKeyUsage=serverAuth\n",
             "subjectAltName=DNS:localhost,IP:127.0.0.1,",
             "DNS:*.localhost,DNS:s3.test,DNS:*.s3.test\n";
    close $f;
    my @q = ('>/dev/null', '2>&1');
    for my $cmd (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
        . "-nodes -keyout $d/ca.key -out $d/ca.pem -days 2 "
        . "-subj '/CN=ngx_s3_kms test CA' "
        . "-addext basicConstraints=critical,CA:TRUE "
        . "-addext keyUsage=critical,keyCertSign,cRLSign",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        . "-keyout $d/server.key -out $d/server.csr -subj /CN=localhost",
        "openssl x509 -req -in $d/server.csr -CA $d/ca.pem -CAkey $d/ca.key "
        . "-CAcreateserial -out $d/server.pem -days 2 "
        . "-extfile $d/server.ext")
    {
        system("$cmd @q") == 0 or croak "openssl failed: $cmd";
    }
    return "$d/ca.pem";
}

sub ca_file { "$_[0]{dir}/tls/ca.pem" }
sub s3_tls_endpoint { "https://127.0.0.1:$_[0]{s3_tls_port}" }
sub s3_port { $_[0]{s3_port} }

# ---- test data ---------------------------------------------------------------------

# N pseudo-random bytes, the same for the same seed (AES-CTR of zeros):
# no 16-byte block repeats, so a plaintext run in ciphertext is no chance.
sub make_file {
    my ($self, $name, $size, $seed) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    my $key = substr(sha256_hex("seed:" . ($seed // $name)), 0, 32);
    if ($size == 0) {
        open my $f, '>', $path or croak $!;
        close $f;
        return $path;
    }
    system("head -c $size /dev/zero | openssl enc -aes-128-ctr -K $key "
           . "-iv 00000000000000000000000000000000 -nosalt > $path") == 0
        or croak "openssl enc";
    croak "make_file: short" unless -s $path == $size;
    return $path;
}

sub bytes {
    my ($self, $size, $seed) = @_;
    my $name = "bytes-$size-" . substr(sha256_hex($seed // 0), 0, 12);
    return $self->slurp($self->make_file($name, $size, $seed // 0));
}

sub spew {
    my ($self, $path, $data) = @_;
    $path = "$self->{dir}/$path" unless $path =~ m{^/};
    open my $f, '>:raw', $path or croak "$path: $!";
    print $f $data;
    close $f;
    return $path;
}

# ---- checksums (what the clients send) ------------------------------------------------

my (@CRC32C, @CRC64);

sub crc32 {
    require Compress::Zlib;
    return pack 'N', Compress::Zlib::crc32($_[1]);
}

sub crc32c {
    my (undef, $data) = @_;
    unless (@CRC32C) {
        for my $i (0 .. 255) {
            my $c = $i;
            $c = $c & 1 ? ($c >> 1) ^ 0x82F63B78 : $c >> 1 for 1 .. 8;
            $CRC32C[$i] = $c;
        }
    }
    my $c = 0xFFFFFFFF;
    $c = $CRC32C[($c ^ $_) & 0xff] ^ ($c >> 8) for unpack 'C*', $data;
    return pack 'N', $c ^ 0xFFFFFFFF;
}

sub crc64nvme {
    my (undef, $data) = @_;
    no warnings 'portable';
    unless (@CRC64) {
        for my $i (0 .. 255) {
            my $c = $i;
            $c = $c & 1 ? ($c >> 1) ^ 0x9A6C9329AC4BC9B5 : $c >> 1 for 1 .. 8;
            $CRC64[$i] = $c;
        }
    }
    my $c = 0xFFFFFFFFFFFFFFFF;
    $c = $CRC64[($c ^ $_) & 0xff] ^ ($c >> 8) for unpack 'C*', $data;
    return pack 'Q>', $c ^ 0xFFFFFFFFFFFFFFFF;
}

# base64 of a checksum: crc32, crc32c, crc64nvme, sha1, sha256, md5
sub checksum_b64 {
    my ($self, $alg, $data) = @_;
    require MIME::Base64;
    require Digest::MD5;
    my $raw = $alg eq 'sha1'   ? Digest::SHA::sha1($data)
            : $alg eq 'sha256' ? Digest::SHA::sha256($data)
            : $alg eq 'md5'    ? Digest::MD5::md5($data)
            : $self->$alg($data);
    return MIME::Base64::encode_base64($raw, '');
}

# ---- raw HTTP ------------------------------------------------------------------------

# One HTTP/1.1 request on a fresh connection, under full control.
#   port, method, target (path?query, as sent), headers (arrayref of
#   [name, value], in order), body (string),
#   send_limit (send at most this many body bytes, then close, unless
#   wait_response: then wait for the answer), shutdown (shut the writing
#   side after the body, then read the answer),
#   expect (Expect: 100-continue: wait for the interim answer first),
#   body_gen (a sub giving the body piece by piece, undef at the end),
#   body_sink (a sub taking the answer's body piece by piece; then only
#   its length is kept, as received),
#   head (no body in the answer), timeout, pause_at and on_pause (once
#   this many body bytes came, on_pause is called, then reading goes on).
# Returns { status, reason, headers (lowercase names => value, joined by
# ", "), hlist, body, length (Content-Length, if any), short (the
# connection ended before Content-Length bytes), eof (the server closed the
# connection), early (a final answer came before the body was sent),
# continue (a 100 Continue came) }.
sub http_raw {
    my ($self, %o) = @_;
    my $timeout = $o{timeout} // 30;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $o{port} // $self->{s3_port},
                                  Proto => 'tcp', Timeout => 5)
        or croak "connect: $!";
    binmode $s;
    my $req = "$o{method} $o{target} HTTP/1.1\r\n";
    $req .= "$_->[0]: $_->[1]\r\n" for @{$o{headers} || []};
    $req .= "\r\n";
    my %r = (status => 0, headers => {}, hlist => [], body => '');
    my $buf = '';

    local $SIG{PIPE} = 'IGNORE';
    $self->_send_all($s, $req) or return { %r, send_error => 1 };

    my $body = $o{body} // '';
    my $limit = $o{send_limit};

    if ($o{expect}) {
        my $got = $self->_read_head($s, \$buf, \%r, $o{expect_wait} // 3);
        if ($got && $r{status} == 100) {
            $r{continue} = 1;
            %r = (%r, status => 0, headers => {}, hlist => []);
        } elsif ($got) {
            $r{early} = 1;
            $self->_read_body($s, \$buf, \%r, $timeout, $o{head});
            close $s;
            return \%r;
        }
    }

    if ($o{body_gen}) {
        while (defined(my $c = $o{body_gen}->())) {
            last unless $self->_send_all($s, $c);
        }
    }

    my $n = defined $limit && $limit < length $body ? $limit : length $body;
    my $off = 0;
    while ($off < $n) {
        my $part = substr($body, $off, ($n - $off) < 65536 ? $n - $off : 65536);
        last unless $self->_send_all($s, $part);
        $off += length $part;
        sleep $o{send_delay} if $o{send_delay};
    }
    if ($o{shutdown}) {
        shutdown($s, 1);
    } elsif (defined $limit && !$o{wait_response}) {
        sleep($o{linger} // 0.3);
        close $s;
        return { %r, aborted => 1 };
    }

    until ($r{status} && $r{status} != 100) {
        %r = (%r, status => 0, headers => {}, hlist => []);
        $self->_read_head($s, \$buf, \%r, $timeout) or last;
    }
    $r{pause_at} = $o{pause_at};
    $r{on_pause} = $o{on_pause};
    $r{sink} = $o{body_sink};
    $self->_read_body($s, \$buf, \%r, $timeout, $o{head} || $o{method} eq 'HEAD')
        if $r{status};
    delete @r{qw(pause_at on_pause sink)};
    close $s;
    return \%r;
}

# Several requests written at once on one connection (raw bytes each);
# their answers, in order, as http_raw gives them (the last may be
# missing when the server closed the connection).
sub http_pipeline {
    my ($self, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $o{port} // $self->{s3_port},
                                  Proto => 'tcp', Timeout => 5)
        or croak "connect: $!";
    binmode $s;
    local $SIG{PIPE} = 'IGNORE';
    $self->_send_all($s, join '', @{$o{requests}});
    my $buf = '';
    my @res;
    for my $req (@{$o{requests}}) {
        my %r = (status => 0, headers => {}, hlist => [], body => '');
        $self->_read_head($s, \$buf, \%r, $o{timeout} // 10) or last;
        $self->_read_body($s, \$buf, \%r, $o{timeout} // 10,
                          $req =~ /^HEAD /);
        push @res, \%r;
        last if $r{eof};
    }
    close $s;
    return @res;
}

# The raw bytes of a signed request (s3_request's options).
sub s3_request_bytes {
    my ($self, %o) = @_;
    my $bytes;
    no warnings 'redefine';
    local *http_raw = sub {
        my ($self, %h) = @_;
        $bytes = "$h{method} $h{target} HTTP/1.1\r\n"
               . join('', map { "$_->[0]: $_->[1]\r\n" } @{$h{headers}})
               . "\r\n" . $h{body};
        return {};
    };
    $self->s3_request(%o);
    return $bytes;
}

sub _send_all {
    my ($self, $s, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $w = syswrite($s, $data, length($data) - $off, $off);
        return 0 unless defined $w && $w > 0;
        $off += $w;
    }
    return 1;
}

sub _fill {
    my ($self, $s, $buf, $deadline) = @_;
    my $sel = IO::Select->new($s);
    my $left = $deadline - time;
    return -1 if $left <= 0;
    return -1 unless $sel->can_read($left);
    my $n = sysread($s, my $chunk, 262144);
    return 0 unless $n;
    $$buf .= $chunk;
    return $n;
}

sub _read_head {
    my ($self, $s, $buf, $r, $timeout) = @_;
    my $deadline = time + $timeout;
    while ($$buf !~ /\r\n\r\n/) {
        my $n = $self->_fill($s, $buf, $deadline);
        if ($n <= 0) { $r->{eof} = 1 if $n == 0; return 0 }
    }
    $$buf =~ s/^(.*?)\r\n\r\n//s;
    my @lines = split /\r\n/, $1;
    my $sl = shift @lines;
    ($r->{status}, $r->{reason}) = $sl =~ m{^HTTP/1\.[01] (\d{3}) ?(.*)$};
    $r->{status} //= 0;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{$r->{hlist}}, [$k, $v];
        my $lk = lc $k;
        $r->{headers}{$lk} = exists $r->{headers}{$lk}
                             ? "$r->{headers}{$lk}, $v" : $v;
    }
    return 1;
}

sub _read_body {
    my ($self, $s, $buf, $r, $timeout, $head) = @_;
    my $deadline = time + $timeout;
    my $h = $r->{headers};
    if ($head || $r->{status} == 204 || $r->{status} == 304) {
        return;
    }
    if (defined $h->{'content-length'} && $r->{sink}) {
        # streamed to the sink, not kept
        my $len = $r->{length} = $h->{'content-length'};
        my $got = 0;
        while (1) {
            if (length $$buf) {
                my $take = length $$buf;
                $take = $len - $got if $take > $len - $got;
                $r->{sink}->(substr($$buf, 0, $take));
                $got += $take;
                $$buf = '';
            }
            last if $got >= $len;
            my $n = $self->_fill($s, $buf, time + $timeout);
            if ($n <= 0) { $r->{eof} = 1 if $n == 0; $r->{timeout} = 1 if $n < 0; last }
        }
        $r->{received} = $got;
        $r->{short} = $got < $len ? 1 : 0;
        return;
    }
    if (defined $h->{'content-length'}) {
        my $len = $r->{length} = $h->{'content-length'};
        while (length $$buf < $len) {
            if (defined $r->{pause_at} && length $$buf >= $r->{pause_at}) {
                delete $r->{pause_at};
                $r->{on_pause}->() if $r->{on_pause};
            }
            my $n = $self->_fill($s, $buf, $deadline);
            if ($n <= 0) { $r->{eof} = 1 if $n == 0; $r->{timeout} = 1 if $n < 0; last }
        }
        $r->{body} = substr($$buf, 0, $len);
        $r->{short} = length($$buf) < $len ? 1 : 0;
        substr($$buf, 0, length $r->{body}) = '';
        # does the server close the connection now?
        unless ($r->{eof}) {
            my $n = $self->_fill($s, $buf, time + ($r->{short} ? 1 : 0.2));
            $r->{eof} = 1 if $n == 0;
        }
        return;
    }
    if (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while (1) {
            while ($$buf !~ /\r\n/) {
                my $n = $self->_fill($s, $buf, $deadline);
                if ($n <= 0) { $r->{short} = 1; $r->{eof} = 1 if $n == 0; last }
            }
            last if $r->{short};
            $$buf =~ s/^([0-9a-fA-F]+)[^\r]*\r\n// or do { $r->{bad_chunk} = 1; last };
            my $len = hex $1;
            while (length $$buf < $len + 2) {
                my $n = $self->_fill($s, $buf, $deadline);
                if ($n <= 0) { $r->{short} = 1; $r->{eof} = 1 if $n == 0; last }
            }
            last if $r->{short};
            $out .= substr($$buf, 0, $len);
            substr($$buf, 0, $len + 2) = '';
            if ($len == 0) { last }
        }
        $r->{body} = $out;
        return;
    }
    while (1) {
        my $n = $self->_fill($s, $buf, $deadline);
        if ($n <= 0) { $r->{eof} = 1 if $n == 0; last }
    }
    $r->{body} = $$buf;
}

# ---- signed S3 requests ---------------------------------------------------------------

# A request to the gateway signed with SigV4.
#   method, bucket, key (raw; encoded here), query (hashref), headers
#   (hashref, signed), body, who, time, host (Host header; default
#   127.0.0.1:PORT), path (encoded, instead of bucket/key),
#   payload: 'sha256' (default), 'unsigned', 'streaming' (aws-chunked,
#   STREAMING-AWS4-HMAC-SHA256-PAYLOAD), 'streaming-trailer' (the same
#   with a signed trailer), 'unsigned-trailer' (STREAMING-UNSIGNED-
#   PAYLOAD-TRAILER), or a string sent as x-amz-content-sha256;
#   chunk (aws-chunked data chunk size, 64 KiB), trailer (checksum
#   algorithm of the trailer, crc32 default), trailer_value (sent instead
#   of the right one), bad_chunk (index of the chunk whose signature is
#   spoiled), bad_trailer_sig, content_length (sent instead of the real
#   one), no_length (no Content-Length), te_chunked (HTTP chunked
#   transfer encoding in chunks of this size, no Content-Length),
#   unsigned_headers (arrayref of
#   [name, value] sent but not signed), and the options of http_raw.
sub s3_request {
    my ($self, %o) = @_;
    my $method = $o{method} // 'GET';
    my $path = $o{path};
    unless (defined $path) {
        $path = '/';
        $path .= uri_escape($o{bucket}) if defined $o{bucket};
        $path .= '/' . uri_escape($o{key}, 1) if defined $o{key};
    }
    my $host = $o{host} // "127.0.0.1:" . ($o{port} // $self->{s3_port});
    my %h = %{$o{headers} || {}};
    my $body = $o{body} // '';
    my $payload = $o{payload} // 'sha256';
    $o{no_length} = 1 if $o{te_chunked};
    my $ph;
    my $streaming = $payload =~ /^(streaming|streaming-trailer|unsigned-trailer)$/;
    my $trailer = $o{trailer} // 'crc32';
    if ($streaming) {
        $h{'content-encoding'} //= 'aws-chunked';
        $h{'x-amz-decoded-content-length'} //= length $body;
        $h{'x-amz-trailer'} //= "x-amz-checksum-$trailer"
            if $payload =~ /trailer/;
        $ph = $payload eq 'streaming' ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
            : $payload eq 'streaming-trailer'
              ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
            : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    } elsif ($payload eq 'sha256') {
        $ph = sha256_hex($body);
    } elsif ($payload eq 'unsigned') {
        $ph = 'UNSIGNED-PAYLOAD';
    } else {
        $ph = $payload;
    }

    # the length goes into the signature, as the SDKs sign it
    my $wire_len;
    if ($streaming) {
        $wire_len = length $self->aws_chunked(\%o, $body, undef, 'x' x 64,
                                              '', '', $trailer);
    } else {
        $wire_len = length $body;
    }
    unless ($o{no_length}) {
        $h{'content-length'} = $o{content_length} // $wire_len
            if $method =~ /^(PUT|POST)$/ || length $body
               || defined $o{content_length};
    }

    my ($sh, $sig, $k) = sigv4_headers(method => $method, host => $host,
        path => $path, query => $o{query} // '', headers => \%h,
        region => $o{region} // $self->{region}, service => 's3',
        who => $o{who}, time => $o{time}, payload_hash => $ph,
        bad_signature => $o{bad_signature});

    if ($streaming) {
        my $amz = $sh->{'x-amz-date'};
        my $scope = substr($amz, 0, 8) . "/" . ($o{region} // $self->{region})
                    . "/s3/aws4_request";
        $body = $self->aws_chunked(\%o, $body, $k, $sig, $amz, $scope,
                                   $trailer);
        croak "aws-chunked length changed" if length $body != $wire_len;
    }

    my $q = $o{query} // '';
    if (ref $q) {
        $q = join '&', map { uri_escape($_) . '=' . uri_escape($q->{$_}) }
                       sort keys %$q;
    }
    my @hl = map { [$_, $sh->{$_}] } sort keys %$sh;
    push @hl, @{$o{unsigned_headers} || []};
    if ($o{te_chunked}) {
        # HTTP chunked transfer encoding around the body, no length
        my $te = '';
        for (my $i = 0; $i < length $body; $i += $o{te_chunked}) {
            my $c = substr($body, $i, $o{te_chunked});
            $te .= sprintf("%x\r\n", length $c) . $c . "\r\n";
        }
        $body = "$te" . "0\r\n\r\n";
        @hl = grep { lc $_->[0] ne 'content-length' } @hl;
        push @hl, ['Transfer-Encoding', 'chunked'];
    }
    return $self->http_raw(%o, method => $method,
                           target => $path . (length $q ? "?$q" : ''),
                           headers => \@hl, body => $body);
}

# The aws-chunked encoding of $body (signed chunks, or unsigned with a
# trailer), as S3's documentation and the SDKs build it.
sub aws_chunked {
    my ($self, $o, $body, $k, $seed, $amz, $scope, $alg) = @_;
    my $mode = $o->{payload};
    my $size = $o->{chunk} // 65536;
    my @chunks;
    for (my $i = 0; $i < length $body; $i += $size) {
        push @chunks, substr($body, $i, $size);
    }
    push @chunks, '';
    my $prev = $seed;
    my $out = '';
    my $i = 0;
    for my $c (@chunks) {
        if ($mode eq 'unsigned-trailer') {
            $out .= sprintf("%x\r\n", length $c);
        } else {
            my $sig = 'x' x 64;
            if ($k) {
                my $sts = join "\n", 'AWS4-HMAC-SHA256-PAYLOAD', $amz, $scope,
                              $prev, sha256_hex(''), sha256_hex($c);
                $sig = hmac_sha256_hex($sts, $k);
                $sig = ($sig =~ /^0/ ? '1' : '0') . substr($sig, 1)
                    if defined $o->{bad_chunk} && $o->{bad_chunk} == $i;
            }
            $out .= sprintf("%x;chunk-signature=%s\r\n", length $c, $sig);
            $prev = $sig;
        }
        $out .= "$c\r\n" if length $c;
        $i++;
    }
    if ($mode eq 'streaming') {
        $out .= "\r\n";
        return $out;
    }
    my $value = $o->{trailer_value} // $self->checksum_b64($alg, $body);
    my $line = "x-amz-checksum-$alg:$value";
    $out .= "$line\r\n";
    if ($mode eq 'streaming-trailer') {
        my $sig = 'x' x 64;
        if ($k) {
            my $sts = join "\n", 'AWS4-HMAC-SHA256-TRAILER', $amz, $scope,
                          $prev, sha256_hex("$line\n");
            $sig = hmac_sha256_hex($sts, $k);
            $sig = ($sig =~ /^0/ ? '1' : '0') . substr($sig, 1)
                if $o->{bad_trailer_sig};
        }
        $out .= "x-amz-trailer-signature:$sig\r\n";
    }
    $out .= "\r\n";
    return $out;
}

# A presigned URL's path and query (query form of SigV4).
#   method, bucket, key, expires (seconds), time, who, host, query (extra,
#   hashref), headers (hashref, signed)
sub presign {
    my ($self, %o) = @_;
    my $c = $CRED{$o{who} // 'alice'};
    my $t = $o{time} // time;
    my $amz = strftime('%Y%m%dT%H%M%SZ', gmtime $t);
    my $date = substr $amz, 0, 8;
    my $region = $o{region} // $self->{region};
    my $scope = "$date/$region/s3/aws4_request";
    my $host = $o{host} // "127.0.0.1:$self->{s3_port}";
    my $path = $o{path} // ('/' . uri_escape($o{bucket})
                            . (defined $o{key} ? '/' . uri_escape($o{key}, 1)
                                               : ''));
    my %h = (host => $host, %{$o{headers} || {}});
    my @names = sort map { lc } keys %h;
    my %lh = map { lc($_) => $h{$_} } keys %h;
    my %q = (%{$o{query} || {}},
             'X-Amz-Algorithm' => 'AWS4-HMAC-SHA256',
             'X-Amz-Credential' => "$c->[0]/$scope",
             'X-Amz-Date' => $amz,
             'X-Amz-Expires' => $o{expires} // 300,
             'X-Amz-SignedHeaders' => join(';', @names));
    my $cq = join '&', map { uri_escape($_) . '=' . uri_escape($q{$_}) }
                       sort keys %q;
    my $creq = join "\n", $o{method} // 'GET', $path, $cq,
                   join('', map { "$_:$lh{$_}\n" } @names),
                   join(';', @names), 'UNSIGNED-PAYLOAD';
    my $sts = join "\n", 'AWS4-HMAC-SHA256', $amz, $scope, sha256_hex($creq);
    my $k = hmac_sha256($date, "AWS4$c->[1]");
    $k = hmac_sha256($_, $k) for $region, 's3', 'aws4_request';
    my $sig = hmac_sha256_hex($sts, $k);
    return "$path?$cq&X-Amz-Signature=$sig";
}

# ---- what the backend holds --------------------------------------------------------

# A raw GET of the backend (path style, its own key): { status, headers,
# body }.
sub backend_get {
    my ($self, $bucket, $key, %o) = @_;
    my $path = '/' . uri_escape($bucket) . '/' . uri_escape($key, 1);
    my $host = "127.0.0.1:$self->{backend_port}";
    my ($h) = _sign_backend($self, $o{method} // 'GET', $host, $path,
                            $o{headers} || {});
    return $self->http_raw(port => $self->{backend_port},
                           method => $o{method} // 'GET', target => $path,
                           headers => [map { [$_, $h->{$_}] } sort keys %$h],
                           timeout => 120);
}

sub backend_put {
    my ($self, $bucket, $key, $body, $meta) = @_;
    my $path = '/' . uri_escape($bucket) . '/' . uri_escape($key, 1);
    my $host = "127.0.0.1:$self->{backend_port}";
    my %hdr = (%{$meta || {}}, 'content-length' => length $body);
    my ($h) = _sign_backend($self, 'PUT', $host, $path, \%hdr, $body);
    return $self->http_raw(port => $self->{backend_port}, method => 'PUT',
                           target => $path, body => $body,
                           headers => [map { [$_, $h->{$_}] } sort keys %$h]);
}

sub _sign_backend {
    my ($self, $method, $host, $path, $hdr, $body) = @_;
    my ($akid, $secret) = $self->backend_cred;
    local $CRED{__backend} = [$akid, $secret];
    return sigv4_headers(method => $method, host => $host, path => $path,
                         headers => $hdr, region => 'us-east-1',
                         service => 's3', who => '__backend',
                         body => $body // '');
}

# Checks a stored object against DESIGN.md section 3: returns a list of
# problems (empty: fine) and the parsed header in $info.
sub check_stored {
    my ($self, $stored, $plain_len, $info) = @_;
    my @bad;
    $info //= {};
    return ("shorter than a header: " . length $stored) if length $stored < 72;
    my ($magic, $ver, $alg, $log2f, $res1, $len, $part, $res2, $salt, $commit)
        = unpack 'a4 C C C C Q> N N a16 a32', $stored;
    %$info = (magic => $magic, version => $ver, alg => $alg, log2f => $log2f,
              len => $len, part => $part, salt => $salt, commit => $commit);
    push @bad, "magic $magic" unless $magic eq 'SSEK';
    push @bad, "version $ver" unless $ver == 1;
    push @bad, "algorithm $alg" unless $alg == 1;
    push @bad, "log2 F $log2f" unless $log2f >= 12 && $log2f <= 24;
    push @bad, "reserved bytes" if $res1 || $res2;
    push @bad, "part $part" unless $part == 0;
    push @bad, "length $len, not $plain_len"
        if defined $plain_len && $len != $plain_len;
    return @bad if @bad;
    my $f = 1 << $log2f;
    my $n = $len == 0 ? 1 : int(($len + $f - 1) / $f);
    my $want = 72 + $len + 16 * $n;
    push @bad, "stored length " . length($stored) . ", not $want"
        unless length $stored == $want;
    push @bad, "zero salt" if $salt eq "\0" x 16;
    return @bad;
}

# Does any 32-byte run of $plain appear in $stored?  Every such run holds
# a 16-byte block of $plain at a multiple of 16: look those up in every
# 16-byte window of $stored.
sub plaintext_run {
    my ($self, $plain, $stored) = @_;
    return 0 if length $plain < 32;
    my %blocks;
    for (my $i = 0; $i + 16 <= length $plain; $i += 16) {
        $blocks{substr($plain, $i, 16)} = 1;
    }
    my $end = length($stored) - 16;
    for my $i (0 .. $end) {
        return 1 if $blocks{substr($stored, $i, 16)};
    }
    return 0;
}

# ---- common checks -------------------------------------------------------------------

# An S3 error answer: the status, S3's XML with the code, the request id
# of the header in the document.
# (from_backend: an error the backend answered, passed on as it is: the
# document's request id is the backend's)
sub is_s3_error {
    my ($self, $r, $status, $code, $name, %o) = @_;
    my $ok = ($r->{status} // 0) == $status
             && ($r->{headers}{'content-type'} // '') =~ m{^application/xml}
             && ($r->{body} // '') =~ m{^<\?xml[^>]*\?>\s*<Error><Code>\Q$code\E</Code><Message>[^<]+</Message>}
             && ($r->{body} // '') =~ m{<RequestId>([^<]+)</RequestId>}
             && ($o{from_backend}
                 || $1 eq ($r->{headers}{'x-amz-request-id'} // ''))
             && ($r->{headers}{'x-amz-request-id'} // '') =~ /^[0-9A-F]{16}$/;
    ok($ok, $name) or diag "status $r->{status}, want $status $code: "
        . substr($r->{body} // '', 0, 600);
    return $ok;
}

# What the backend holds under bucket/key is the ciphertext of $data in
# DESIGN.md section 3's format with section 3's metadata.  Returns the
# backend's answer.
sub stored_ok {
    my ($self, $bucket, $key, $data, $name, %o) = @_;
    my $b = $self->backend_get($bucket, $key);
    my %info;
    my @bad = $b->{status} == 200 ? $self->check_stored($b->{body},
                                                       length $data, \%info)
                                  : ("backend status $b->{status}");
    my $h = $b->{headers};
    push @bad, "x-amz-meta-ssek-v" unless ($h->{'x-amz-meta-ssek-v'} // '') eq '1';
    my $alg = $o{alg} // 'aws:kms';
    push @bad, "x-amz-meta-ssek-alg " . ($h->{'x-amz-meta-ssek-alg'} // '-')
        unless ($h->{'x-amz-meta-ssek-alg'} // '') eq $alg;
    push @bad, "x-amz-meta-ssek-key " . ($h->{'x-amz-meta-ssek-key'} // '-')
        unless ($h->{'x-amz-meta-ssek-key'} // '')
               =~ ($alg eq 'AES256' ? qr/./
                   : qr{^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$});
    push @bad, "x-amz-meta-ssek-key is not $o{key_arn}"
        if $o{key_arn} && ($h->{'x-amz-meta-ssek-key'} // '') ne $o{key_arn};
    push @bad, "x-amz-meta-ssek-dek"
        unless ($h->{'x-amz-meta-ssek-dek'} // '') =~ m{^[A-Za-z0-9+/]{40,}={0,2}$};
    push @bad, "x-amz-meta-ssek-len " . ($h->{'x-amz-meta-ssek-len'} // '-')
        unless ($h->{'x-amz-meta-ssek-len'} // '') eq length $data;
    if (defined $o{ctx}) {
        require MIME::Base64;
        my $c = MIME::Base64::decode_base64($h->{'x-amz-meta-ssek-ctx'} // '');
        push @bad, "x-amz-meta-ssek-ctx '$c', not '$o{ctx}'" unless $c eq $o{ctx};
    } else {
        push @bad, "x-amz-meta-ssek-ctx without a context"
            if exists $h->{'x-amz-meta-ssek-ctx'};
    }
    push @bad, "a 32-byte run of plaintext is stored"
        if !$o{no_scan} && $self->plaintext_run($data, $b->{body});
    ok(!@bad, $name) or diag join '; ', @bad;
    return $b;
}

# ---- nginx's memory ------------------------------------------------------------------

# resident set sizes (KiB) of the worker processes
sub worker_rss {
    my ($self) = @_;
    my $master = $self->slurp("$self->{dir}/nginx.pid");
    chomp $master;
    return () unless $master;
    my @rss;
    for (`ps -o rss=,args= --ppid $master`) {
        push @rss, $1 if /^\s*(\d+)\s+nginx: worker/;
    }
    return @rss;
}

sub json_encode { $json->encode($_[1]) }
sub json_decode { $json->decode($_[1]) }

# ---- the end -----------------------------------------------------------------------

# Stops every process, checks the logs, ends the test plan.
sub done {
    my ($self) = @_;
    $self->finish(1);
    done_testing();
}

sub finish {
    my ($self, $check) = @_;
    return if $self->{finished}++;

    for my $name (grep { $_ ne 'redis' } keys %{$self->{procs}}) {
        $self->stop($name, $name eq 'nginx' ? 'QUIT' : 'TERM');
    }
    $self->stop('redis');

    return unless $check;

    if (-e "$self->{dir}/error.log") {
        my @bad = grep {
            my $l = $_;
            !grep { $l =~ $_ } @{$self->{allow}}
        } grep { /\[(alert|crit|emerg)\]/ } split /\n/, $self->error_log;
        ok(!@bad, "$self->{name}: no alert, crit or emerg in error.log")
            or diag join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)];
    }

    if ($ENV{S3KMS_ASAN}) {
        my @reports = glob("$self->{dir}/asan.* $self->{dir}/ubsan.*");
        ok(!@reports, "$self->{name}: no sanitizer report")
            or diag $self->slurp($reports[0]);
    }
}

END {
    my $rc = $?;
    $_->finish(0) for @INSTANCES;
    $? = $rc;
}

1;
