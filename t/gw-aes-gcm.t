# s3_kms_aes_gcm: OpenSSL's AES-GCM and ipsec-mb's write the same format.
# Objects, multipart uploads and KMS ciphertext blobs written under one
# implementation read back under the other, both ways; the error log says
# which one runs; a bad value is refused at configuration time.
use strict; use warnings; use lib 't/lib'; use Test::More; use S3KMS::Test;

my $t = S3KMS::Test->new(name => 'gwaesgcm');
$t->start_redis;
$t->start_moto;

my $B = 'gcmbucket';
my @sizes = (0, 1, 65535, 65536, 65537, 3 * 65536 + 5, 1048576 + 7);

sub start_with {
    my ($impl) = @_;
    $t->stop_nginx if $t->pid('nginx');
    unlink $t->dir . '/error.log';
    $t->start_nginx(http => "    s3_kms_aes_gcm $impl;\n");
    like($t->error_log, qr/s3_kms: AES-256-GCM by \Q$impl\E/,
         "the error log says AES-256-GCM is by $impl");
}

sub put_all {
    my ($tag) = @_;
    for my $n (@sizes) {
        my $f = $t->make_file("$tag-$n", $n, "$tag-$n");
        my $r = $t->s3(qw(s3api put-object --bucket), $B, '--key', "$tag/$n",
                       '--body', $f, qw(--server-side-encryption aws:kms));
        is($r->{rc}, 0, "$tag: PUT of $n bytes") or diag $r->{err};
        $t->stored_ok($B, "$tag/$n", $t->slurp($f), "$tag: $n bytes stored "
                      . "in the object format");
    }
    # a multipart upload (the CLI splits above 8 MiB)
    my $f = $t->make_file("$tag-mpu", 9 * 1048576 + 3, "$tag-mpu");
    my $r = $t->s3('s3', 'cp', $f, "s3://$B/$tag/mpu");
    is($r->{rc}, 0, "$tag: multipart upload of 9 MiB + 3") or diag $r->{err};
}

sub get_all {
    my ($tag, $impl) = @_;
    for my $n (@sizes) {
        my $out = $t->dir . "/got-$tag-$n";
        my $r = $t->s3(qw(s3api get-object --bucket), $B, '--key', "$tag/$n",
                       $out);
        is($r->{rc}, 0, "$tag read by $impl: GET of $n bytes") or diag $r->{err};
        ok($t->slurp($out) eq $t->slurp($t->dir . "/$tag-$n"),
           "$tag read by $impl: $n bytes come back identical");
    }
    my $n = 3 * 65536 + 5;
    my $out = $t->dir . "/range-$tag";
    my $r = $t->s3(qw(s3api get-object --bucket), $B, '--key', "$tag/$n",
                   '--range', 'bytes=65530-131080', $out);
    is($r->{rc}, 0, "$tag read by $impl: a range across two frame edges");
    ok($t->slurp($out) eq substr($t->slurp($t->dir . "/$tag-$n"), 65530,
                                 131080 - 65530 + 1),
       "$tag read by $impl: the range's bytes are right");
    $out = $t->dir . "/got-$tag-mpu";
    $r = $t->s3('s3', 'cp', "s3://$B/$tag/mpu", $out);
    is($r->{rc}, 0, "$tag read by $impl: multipart GET");
    ok($t->slurp($out) eq $t->slurp($t->dir . "/$tag-mpu"),
       "$tag read by $impl: the multipart object comes back identical");
}

my %blob;

sub kms_encrypt {
    my ($tag) = @_;
    $t->spew("pt-$tag", "secret written under $tag");
    my $r = $t->aws(qw(kms encrypt --key-id alias/gcm-test --plaintext),
                    'fileb://' . $t->dir . "/pt-$tag",
                    '--encryption-context', "by=$tag");
    is($r->{rc}, 0, "$tag: KMS Encrypt") or diag $r->{err};
    $blob{$tag} = $r->{json}{CiphertextBlob};
}

sub kms_decrypt {
    my ($tag, $impl) = @_;
    require MIME::Base64;
    $t->spew("blob-$tag", MIME::Base64::decode_base64($blob{$tag} // ''));
    my $r = $t->aws(qw(kms decrypt --ciphertext-blob),
                    'fileb://' . $t->dir . "/blob-$tag",
                    '--encryption-context', "by=$tag");
    is($r->{rc}, 0, "$tag blob decrypted by $impl") or diag $r->{err};
    is(MIME::Base64::decode_base64($r->{json}{Plaintext} // ''),
       "secret written under $tag", "$tag blob: the plaintext is right");
    $r = $t->aws(qw(kms decrypt --ciphertext-blob),
                 'fileb://' . $t->dir . "/blob-$tag",
                 '--encryption-context', "by=someone-else");
    like($r->{err}, qr/InvalidCiphertextException/,
         "$tag blob under another context: refused by $impl");
}

# ---- a value nginx must refuse --------------------------------------------------------------

$t->write_root_key;
$t->write_credentials;
$t->nginx_conf(http => "    s3_kms_aes_gcm fastest;\n");
my ($rc, $out) = $t->nginx_test;
isnt($rc, 0, 'nginx -t refuses s3_kms_aes_gcm fastest');
like($out . $t->error_log, qr/invalid value "fastest"/, '... naming the value');
unlink $t->dir . '/error.log';

# ---- written by OpenSSL ----------------------------------------------------------------------

start_with('openssl');
my $r = $t->s3(qw(s3 mb), "s3://$B");
is($r->{rc}, 0, 'bucket') or diag $r->{err};
$r = $t->aws(qw(kms create-key --description gcm-test));
is($r->{rc}, 0, 'a customer managed key') or diag $r->{err};
$r = $t->aws(qw(kms create-alias --alias-name alias/gcm-test --target-key-id),
             $r->{json}{KeyMetadata}{KeyId});
is($r->{rc}, 0, 'its alias') or diag $r->{err};
put_all('openssl');
kms_encrypt('openssl');
get_all('openssl', 'openssl');

# ---- read by ipsec-mb, and written by it -----------------------------------------------------

$t->nginx_conf(http => "    s3_kms_aes_gcm ipsec-mb;\n");
($rc, $out) = $t->nginx_test;
SKIP: {
    skip "this build has no ipsec-mb", 60    # the tests below
        if $rc != 0 && ($out . $t->error_log) =~ /built without ipsec-mb/;

    start_with('ipsec-mb');
    get_all('openssl', 'ipsec-mb');
    kms_decrypt('openssl', 'ipsec-mb');
    put_all('ipsec-mb');
    kms_encrypt('ipsec-mb');

    start_with('openssl');
    get_all('ipsec-mb', 'openssl');
    kms_decrypt('ipsec-mb', 'openssl');
}

# ---- auto picks one of them and reads both ---------------------------------------------------

$t->stop_nginx;
unlink $t->dir . '/error.log';
$t->start_nginx;
like($t->error_log, qr/s3_kms: AES-256-GCM by (openssl|ipsec-mb)/,
     'by default (auto) the log names the implementation picked');
get_all('openssl', 'auto');

$t->done;
