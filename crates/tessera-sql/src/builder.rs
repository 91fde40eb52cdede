//! Statements assembled at run time (filters that may or may not apply,
//! lists of ids), with their parameters numbered as they are added.

use std::fmt::Write;

use crate::engine::Arg;

/// SQL text and its parameters, built together so that every `$n` matches
/// the `n`-th argument.
#[derive(Debug, Default)]
pub(crate) struct SqlBuilder<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
}

impl<'a> SqlBuilder<'a> {
    /// Starts with `sql`.
    pub(crate) fn new(sql: &str) -> SqlBuilder<'a> {
        SqlBuilder {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends plain SQL.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `arg`.
    pub(crate) fn bind(&mut self, arg: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(arg.into());
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }

    /// Appends `(p1, p2, …)` binding every item.
    pub(crate) fn bind_list<T: Into<Arg<'a>> + Copy>(&mut self, items: &[T]) -> &mut Self {
        self.push("(");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(*item);
        }
        self.push(")")
    }

    /// The statement's text.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// Its parameters, in placeholder order.
    pub(crate) fn args(&self) -> &[Arg<'a>] {
        &self.args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_the_order_arguments_are_bound() {
        let mut b = SqlBuilder::new("select 1 where a = ");
        b.bind(1i64).push(" and b in ").bind_list(&[2i64, 3i64]);
        assert_eq!(b.sql(), "select 1 where a = $1 and b in ($2, $3)");
        assert_eq!(b.args().len(), 3);
    }
}
