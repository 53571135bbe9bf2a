//! Input rules shared by the browser (instant hints) and the server (the authority).

/// Minimum password length (NIST SP 800-63B asks for at least 8; we ask for more).
pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;
pub const MAX_EMAIL_LEN: usize = 254;

/// Normalises an email address for comparison and storage: trimmed, lower case.
/// Returns an error message fit for the form when it is not a plausible address.
pub fn normalize_email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err("That email address is too long.");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("Enter an email address like name@example.com.");
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control());
    if !domain_ok || !local_ok {
        return Err("Enter an email address like name@example.com.");
    }
    Ok(email)
}

/// The domain part of an already normalised address.
pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!(
            "Use at least {MIN_PASSWORD_LEN} characters (you typed {n})."
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(format!("Use at most {MAX_PASSWORD_LEN} characters."));
    }
    Ok(())
}

/// A required single-line text field: trimmed, non-empty, bounded.
pub fn required_text(input: &str, what: &str, max: usize) -> Result<String, String> {
    let v = input.trim();
    if v.is_empty() {
        return Err(format!("Enter the {what}."));
    }
    optional_text(v, what, max)
}

pub fn optional_text(input: &str, what: &str, max: usize) -> Result<String, String> {
    let v = input.trim();
    if v.chars().count() > max {
        return Err(format!("The {what} can be at most {max} characters."));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(format!(
            "The {what} contains characters that are not allowed."
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        input: &'static str,
        want: Result<&'static str, ()>,
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        let cases = [
            Case {
                name: "lower-cased and trimmed",
                input: "  Ada@Example.COM ",
                want: Ok("ada@example.com"),
            },
            Case {
                name: "plus address kept",
                input: "a+b@corp.example",
                want: Ok("a+b@corp.example"),
            },
            Case {
                name: "empty",
                input: "   ",
                want: Err(()),
            },
            Case {
                name: "no at sign",
                input: "ada.example.com",
                want: Err(()),
            },
            Case {
                name: "no dot in domain",
                input: "ada@localhost",
                want: Err(()),
            },
            Case {
                name: "double dot",
                input: "ada@example..com",
                want: Err(()),
            },
            Case {
                name: "space in local part",
                input: "a da@example.com",
                want: Err(()),
            },
            Case {
                name: "empty local part",
                input: "@example.com",
                want: Err(()),
            },
        ];
        for c in cases {
            let got = normalize_email(c.input).map_err(|_| ());
            assert_eq!(got, c.want.map(str::to_string), "{}", c.name);
        }
    }

    #[test]
    fn short_passwords_are_refused_with_the_length_typed() {
        let err = check_password("short").expect_err("5 chars must be refused");
        assert!(err.contains("you typed 5"), "{err}");
        assert!(check_password("long enough pass").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }

    #[test]
    fn required_text_trims_and_bounds() {
        assert_eq!(
            required_text("  Acme  ", "organisation name", 10).as_deref(),
            Ok("Acme")
        );
        assert!(required_text("  ", "organisation name", 10).is_err());
        assert!(required_text("abcdefghijk", "organisation name", 10).is_err());
        assert!(optional_text("a\u{0}b", "address", 10).is_err());
    }
}
