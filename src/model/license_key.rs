//! License key format: 25 Crockford base32 characters in five groups of five, the last two
//! a checksum, so a typo is caught in the form before any lookup. Pure; the random part is
//! drawn on the server (`licensing::keys`).
//!
//! The checksum is the key body read as a base-32 number, modulo the prime 1021: a single
//! changed character changes it by (a-b)·32^k and a swap of neighbours by (a-b)·31·32^k, neither
//! of which 1021 divides, so every single substitution and adjacent transposition is detected.

/// Crockford's base32: no I, L, O or U, so what is read aloud is typed right.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const BODY_LEN: usize = 23;
pub const KEY_LEN: usize = BODY_LEN + 2;
const MODULUS: u32 = 1021;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFormatError {
    Empty,
    WrongLength(usize),
    BadCharacter(char),
    Checksum,
}

impl KeyFormatError {
    pub fn message(&self) -> String {
        match self {
            KeyFormatError::Empty => "Enter the license key.".into(),
            KeyFormatError::WrongLength(n) => format!(
                "A license key has {KEY_LEN} letters and digits (you entered {n}). Check it against the key you received."
            ),
            KeyFormatError::BadCharacter(c) => {
                format!("A license key cannot contain \u{201c}{c}\u{201d}. Check it against the key you received.")
            }
            KeyFormatError::Checksum => {
                "This license key has a typo: its check characters do not match. Check it against the key you received.".into()
            }
        }
    }
}

fn value_of(c: char) -> Option<u32> {
    // Crockford decoding: O reads as 0, I and L as 1.
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| a as char == c)
        .map(|p| p as u32)
}

fn checksum(values: &[u32]) -> [u32; 2] {
    let h = values.iter().fold(0u32, |h, &v| (h * 32 + v) % MODULUS);
    [h / 32, h % 32]
}

/// Builds a full key from 23 body values (each < 32), adding the checksum.
pub fn from_body(body: &[u32; BODY_LEN]) -> String {
    let mut values: Vec<u32> = body.iter().map(|v| v % 32).collect();
    values.extend(checksum(&values));
    format_values(&values)
}

fn format_values(values: &[u32]) -> String {
    let mut out = String::with_capacity(KEY_LEN + 4);
    for (i, v) in values.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[*v as usize] as char);
    }
    out
}

/// Parses what a person typed: case, spaces and dashes do not matter. Returns the canonical
/// form (upper case, grouped) when the characters and the checksum are right.
pub fn parse(input: &str) -> Result<String, KeyFormatError> {
    let chars: Vec<char> = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if chars.is_empty() {
        return Err(KeyFormatError::Empty);
    }
    let mut values = Vec::with_capacity(chars.len());
    for c in &chars {
        values.push(value_of(*c).ok_or(KeyFormatError::BadCharacter(*c))?);
    }
    if values.len() != KEY_LEN {
        return Err(KeyFormatError::WrongLength(values.len()));
    }
    if checksum(&values[..BODY_LEN]) != [values[BODY_LEN], values[BODY_LEN + 1]] {
        return Err(KeyFormatError::Checksum);
    }
    Ok(format_values(&values))
}

/// The last group, shown in lists so a key can be recognised without revealing it.
pub fn hint(canonical: &str) -> String {
    format!("\u{2026}-{}", canonical.rsplit('-').next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let mut body = [0u32; BODY_LEN];
        for (i, v) in body.iter_mut().enumerate() {
            *v = (i as u32 * 7 + 3) % 32;
        }
        from_body(&body)
    }

    #[test]
    fn a_generated_key_parses_back_to_itself() {
        let key = sample();
        assert_eq!(
            key.len(),
            KEY_LEN + 4,
            "five groups joined by dashes: {key}"
        );
        assert_eq!(parse(&key), Ok(key.clone()));
    }

    #[test]
    fn case_spaces_dashes_and_lookalikes_do_not_matter() {
        let key = sample();
        let sloppy = key
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(parse(&sloppy), Ok(key));
    }

    #[test]
    fn every_single_substitution_is_caught() {
        let key = sample();
        let compact: Vec<char> = key.chars().filter(|c| *c != '-').collect();
        for pos in 0..compact.len() {
            for &a in ALPHABET {
                let a = a as char;
                if a == compact[pos] {
                    continue;
                }
                let mut typo = compact.clone();
                typo[pos] = a;
                let typo: String = typo.into_iter().collect();
                assert_eq!(parse(&typo), Err(KeyFormatError::Checksum), "{typo}");
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        let key = sample();
        let compact: Vec<char> = key.chars().filter(|c| *c != '-').collect();
        for pos in 0..compact.len() - 1 {
            if compact[pos] == compact[pos + 1] {
                continue;
            }
            let mut typo = compact.clone();
            typo.swap(pos, pos + 1);
            let typo: String = typo.into_iter().collect();
            assert_eq!(parse(&typo), Err(KeyFormatError::Checksum), "{typo}");
        }
    }

    #[test]
    fn wrong_length_and_bad_characters_are_named() {
        assert_eq!(parse(""), Err(KeyFormatError::Empty));
        assert_eq!(parse("ABCDE-12345"), Err(KeyFormatError::WrongLength(10)));
        assert_eq!(parse("ABCDE-1234U"), Err(KeyFormatError::BadCharacter('U')));
        assert!(KeyFormatError::WrongLength(10)
            .message()
            .contains("you entered 10"));
    }

    #[test]
    fn hint_shows_only_the_last_group() {
        let key = sample();
        let h = hint(&key);
        assert!(key.ends_with(h.trim_start_matches('\u{2026}')));
        assert_eq!(h.chars().count(), 7);
    }
}
