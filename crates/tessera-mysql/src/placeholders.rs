//! MySQL's `?` placeholders from the store's numbered `$1`, `$2`, …: the
//! text is rewritten and the arguments reordered (and repeated, where a
//! statement uses one `$n` twice) to match.

/// `sql` with every `$n` outside quotes replaced by `?`, and for each `?`
/// the 0-based index of the argument it stands for.
pub(crate) fn rewrite(sql: &str) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q => {
                quote = None;
                text.push(c);
            }
            (Some(_), _) => text.push(c),
            (None, '\'' | '"' | '`') => {
                quote = Some(c);
                text.push(c);
            }
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut number = 0usize;
                while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                    number = number * 10 + digit as usize;
                    chars.next();
                }
                order.push(number.saturating_sub(1));
                text.push('?');
            }
            (None, _) => text.push(c),
        }
    }
    (text, order)
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn numbered_placeholders_become_question_marks_in_argument_order() {
        let (sql, order) = rewrite("select 1 where a = $2 and ($3 is null or b <> $3) and c = $1 limit $10");
        assert_eq!(
            sql,
            "select 1 where a = ? and (? is null or b <> ?) and c = ? limit ?"
        );
        assert_eq!(order, vec![1, 2, 2, 0, 9]);
    }

    #[test]
    fn dollars_inside_quotes_and_without_digits_stay() {
        let (sql, order) = rewrite("select '$1', `a$2`, x$ from t where y = $1");
        assert_eq!(sql, "select '$1', `a$2`, x$ from t where y = ?");
        assert_eq!(order, vec![0]);
    }
}
