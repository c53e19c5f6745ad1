use super::*;

fn exact(text: &str) -> Vec<String> {
    tokens_of(&mut exact_analyzer(false), text)
}

#[test]
fn every_script_folds() {
    assert_eq!(exact("καλημέρα ΚΑΛΗΜΕΡΑΣ"), ["καλημερα", "καλημερασ"]);
    assert_eq!(exact("ёлка Ёлка елка"), ["елка", "елка", "елка"]);
    assert_eq!(
        exact("Café Straße ＡＢＣ１２ ﬁle"),
        ["cafe", "strasse", "abc12", "file"]
    );
    // Decomposed accents stay in their word.
    assert_eq!(exact("cafe\u{301} me\u{301}ra"), ["cafe", "mera"]);
    // Kana keep their voicing; half-width Katakana become full width.
    assert_eq!(
        exact("がっこう ｶﾀｶﾅ"),
        ["がっ", "っこ", "こう", "カタ", "タカ", "カナ"]
    );
}

#[test]
fn stems_in_every_language_of_the_list() {
    let mut en = stem_analyzer(&[Language::English]);
    assert_eq!(
        tokens_of(&mut en, "Running connections 2026 東京"),
        ["run", "connect"]
    );
    let mut en_de = stem_analyzer(&[Language::English, Language::German]);
    assert_eq!(tokens_of(&mut en_de, "häuser"), ["hauser", "haus"]);
    assert!(tokens_of(&mut stem_analyzer(&[]), "running").is_empty());
}

#[test]
fn remembered_stems_are_the_stems() {
    // The same words again come from the stem cache, in every language and at their positions:
    // exactly what a fresh analyzer (an empty cache) gives for each word.
    let languages = [Language::English, Language::German];
    let fresh = |word: &str| tokens_of(&mut stem_analyzer(&languages), word);
    assert_eq!(fresh("häuser"), ["hauser", "haus"]);
    let mut warm = stem_analyzer(&languages);
    let text = "running häuser running häuser connections";
    let expected: Vec<String> = text.split(' ').flat_map(fresh).collect();
    assert_eq!(tokens_of(&mut warm, text), expected);
    assert_eq!(tokens_of(&mut warm, text), expected);
    // More distinct words than the cache holds: it starts again and the stems stay right.
    let mut english = stem_analyzer(&[Language::English]);
    let many: String = (0..40_000).map(|i| format!("walking{i}s ")).collect();
    let stems = tokens_of(&mut english, &format!("{many} running connections"));
    assert_eq!(stems.len(), 40_002);
    assert_eq!(stems[39_999], "walking39999");
    assert_eq!(&stems[40_000..], ["run", "connect"]);
}

#[test]
fn analyzer_names_record_the_languages() {
    let name = stem_analyzer_name(&[Language::German, Language::English, Language::German]);
    assert_eq!(name, "fandex_stem_en_de");
    assert_eq!(
        languages_of_analyzer(&name),
        Some(vec![Language::English, Language::German])
    );
    assert_eq!(languages_of_analyzer("fandex_stem"), Some(vec![]));
    assert_eq!(languages_of_analyzer("fandex_text"), None);
    assert_eq!(languages_of_analyzer("fandex_stem_xx"), None);
    assert_eq!(Language::from_code("EN"), Some(Language::English));
    assert_eq!(Language::from_code("german"), Some(Language::German));
}
