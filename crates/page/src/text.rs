//! Words the page writes around numbers.

/// `n` and the noun, plural unless `n` is 1: "1 model", "3 models", "0 models".
pub fn count_of(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count_of(1, "model", "models"), "1 model");
        assert_eq!(count_of(0, "model", "models"), "0 models");
        assert_eq!(count_of(12, "class", "classes"), "12 classes");
    }
}
