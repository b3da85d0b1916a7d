//! Cleaning rules of MODEL.md §1 that do not depend on the file format: the reject
//! reasons and the checks on optional numeric fields.

/// Why a record was rejected; `as_str` is the key used in `Accounting::rejected`
/// and in the rejects file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reason {
    /// Wrong field count, unterminated quote, or a number that does not parse.
    Parse,
    /// Empty user, item, action or ts.
    MissingField,
    UnknownAction,
    /// A rating outside 0.5..=5 or not a multiple of 0.5.
    BadRating,
    /// Negative or non-finite price.
    BadPrice,
    /// Quantity outside [1, 10000].
    BadQuantity,
    /// ts more than `max_clock_skew_ms` ahead of the wall clock when read.
    Future,
    /// A non-numeric id whose key already belongs to a different id.
    KeyCollision,
    NotUtf8,
    /// A line longer than the reader's limit (the rest of it is skipped unread).
    TooLong,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Parse => "parse",
            Reason::MissingField => "missing_field",
            Reason::UnknownAction => "unknown_action",
            Reason::BadRating => "bad_rating",
            Reason::BadPrice => "bad_price",
            Reason::BadQuantity => "bad_quantity",
            Reason::Future => "future",
            Reason::KeyCollision => "key_collision",
            Reason::NotUtf8 => "not_utf8",
            Reason::TooLong => "too_long",
        }
    }
}

/// An empty field (after trimming) counts as absent.
pub(crate) fn required(field: &str) -> Result<&str, Reason> {
    if field.is_empty() {
        Err(Reason::MissingField)
    } else {
        Ok(field)
    }
}

/// Optional price: absent is fine; it must parse, be finite and not negative.
pub(crate) fn check_price(field: &str) -> Result<(), Reason> {
    if field.is_empty() {
        return Ok(());
    }
    let p: f64 = field.parse().map_err(|_| Reason::Parse)?;
    if !p.is_finite() || p < 0.0 {
        return Err(Reason::BadPrice);
    }
    Ok(())
}

/// Optional quantity: absent is fine; otherwise an integer in [1, 10000]. An integer too
/// large for i64 is out of range, not unparsable.
pub(crate) fn check_quantity(field: &str) -> Result<(), Reason> {
    if field.is_empty() {
        return Ok(());
    }
    match field.parse::<i64>() {
        Ok(q) if (1..=10_000).contains(&q) => Ok(()),
        Ok(_) => Err(Reason::BadQuantity),
        Err(_) => {
            let digits = field.strip_prefix(['-', '+']).unwrap_or(field);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Err(Reason::BadQuantity)
            } else {
                Err(Reason::Parse)
            }
        }
    }
}
