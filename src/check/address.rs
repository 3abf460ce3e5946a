//! A deliberately small mailbox check for `type="address"` headers: `local@domain` or
//! `Display Name <local@domain>` (RFC 5322 §3.4), without comments or group syntax, which
//! Trustedbird never writes.

/// True when `s` is one mailbox.
pub fn is_mailbox(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        (None, false) => s,
        _ => return false,
    };
    is_addr_spec(addr)
}

fn is_addr_spec(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(atext)
        && !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::is_mailbox;

    #[test]
    fn accepts_mailboxes() {
        for ok in [
            "a@example.org",
            "Alice <alice@example.org>",
            "a.b+c@x-y.example",
        ] {
            assert!(is_mailbox(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_non_mailboxes() {
        for bad in [
            "",
            "alice",
            "@example.org",
            "a@",
            "a@@b",
            "a b@c.d",
            "<a@b.c",
            "a@-b.c",
        ] {
            assert!(!is_mailbox(bad), "{bad}");
        }
    }
}
