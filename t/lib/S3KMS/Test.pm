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
    $self->spawn('moto', ['moto_server', '-H', '127.0.0.1', '-p', $port],
                 env => { MOTO_ALLOW_NONEXISTENT_REGION => 'true' });
    $self->wait_port($port, 30) or croak "moto_server did not start: "
        . $self->slurp("$self->{dir}/moto.out");
    return $port;
}

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
    return $self->run(['aws', @args, '--endpoint-url',
                       $self->backend_endpoint, '--output', 'json'],
                      env => { AWS_ACCESS_KEY_ID => $BACKEND_CRED[0],
                               AWS_SECRET_ACCESS_KEY => $BACKEND_CRED[1] },
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
        BACKEND_KEY => "@BACKEND_CRED",
        MODULE     => module_path(),
        REDIS_PORT => $self->{redis_port} // 6379,
        KMS_PORT   => $self->{kms_port},
        ROOT_KEY   => $opt{root_key} // "$d/root.key",
        CREDS      => $opt{credentials} // "$d/credentials",
        REGION     => $self->{region},
        %{$opt{vars} || {}},
    );
    my $http = $opt{http} // '';
    my $gw = $opt{gateway} // '';
    if ($self->{backend_port} && !$opt{no_gateway}) {
        $http .= <<"EOF";
    server {
        listen 127.0.0.1:%%S3_PORT%%;
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
error_log %%DIR%%/error.log info;
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
