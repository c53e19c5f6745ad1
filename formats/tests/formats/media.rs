use fandex_formats::{Kind, MetaField};

use crate::common::extract_ok;

#[test]
fn audio_tags_from_id3_vorbis_and_flac() {
    let expected = [
        ("song.mp3", "Come Together"),
        ("song.flac", "Here Comes the Sun"),
        ("song.ogg", "Something"),
    ];
    for (name, title) in expected {
        let doc = extract_ok(name);
        assert_eq!(doc.mime, Kind::Audio.mime(), "{name}");
        assert_eq!(doc.meta(MetaField::Title), Some(title), "{name}");
        assert_eq!(doc.meta(MetaField::Artist), Some("The Beatles"), "{name}");
        assert_eq!(doc.meta(MetaField::Album), Some("Abbey Road"), "{name}");
        assert_eq!(doc.meta(MetaField::Genre), Some("Rock"), "{name}");
        assert_eq!(doc.meta(MetaField::Year), Some("1969"), "{name}");
    }
}

#[test]
fn jpeg_exif_camera_date_and_size() {
    let doc = extract_ok("photo.jpg");
    assert_eq!(doc.mime, Kind::Image.mime());
    assert_eq!(doc.meta(MetaField::Camera), Some("Canon EOS 5D"));
    assert_eq!(doc.meta(MetaField::Taken), Some("2024-05-01 10:20:30"));
    assert_eq!(doc.meta(MetaField::Width), Some("16"));
    assert_eq!(doc.meta(MetaField::Height), Some("12"));
}
