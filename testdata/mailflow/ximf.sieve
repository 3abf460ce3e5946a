# Annotate every message with its XIMF verdict, then file it by verdict.
# Needs: sieve_plugins = sieve_extprograms, sieve_extensions = +vnd.dovecot.filter,
# sieve_filter_bin_dir holding the ximf-verify wrapper (see 90-sieve-ximf.conf).
require ["vnd.dovecot.filter", "fileinto", "mailbox"];

# A filter that fails (non-zero exit, no output, time-out) leaves the message as it was and the
# test is false: such mail was never checked, so it must not land in the inbox as if it were.
if not filter "ximf-verify" {
  fileinto :create "Unchecked";
  stop;
}
# The verdict is the first word of X-XIMF-Verify; ximf removed any field claiming our
# authserv-id before adding its own.
if header :matches "X-XIMF-Verify" "fail*" {
  fileinto :create "Quarantine";
  stop;
}
# Too large to check (over --max-size): passed through below a `none` verdict, unchecked.
if header :matches "X-XIMF-Verify" "none*" {
  fileinto :create "Unchecked";
  stop;
}
keep;
