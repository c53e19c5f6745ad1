//! Media tags: audio tags through `lofty` (ID3, Vorbis comments, MP4 atoms, APE: title, artist, album,
//! genre, year) and image EXIF through `kamadak-exif` (camera, date taken, dimensions). No text, only metadata.

use std::io::BufReader;

use exif::{In, Tag};
use lofty::file::TaggedFileExt;
use lofty::probe::Probe;
use lofty::tag::Accessor;

use crate::context::Input;
use crate::document::{Document, MetaField, NO_EXIF, NO_TAGS};
use crate::error::FormatError;
use crate::kind::Kind;

/// Reads the tags of an audio file through `input`.
pub(crate) fn extract_audio(input: &mut dyn Input) -> Result<Document, FormatError> {
    input.rewind()?;
    let probe = Probe::new(BufReader::new(input)).guess_file_type()?;
    let tagged = probe
        .read()
        .map_err(|e| FormatError::malformed("audio", e))?;
    let mut doc = Document::new(Kind::Audio.mime());
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let fields = [
            (MetaField::Title, tag.title()),
            (MetaField::Artist, tag.artist()),
            (MetaField::Album, tag.album()),
            (MetaField::Genre, tag.genre()),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                doc.push_meta(field, &value);
            }
        }
        if let Some(date) = tag.date() {
            doc.push_meta(MetaField::Year, &date.year.to_string());
        }
    } else {
        doc.notes.push(NO_TAGS.to_string());
    }
    Ok(doc)
}

/// Reads the EXIF of an image through `input`.
pub(crate) fn extract_image(input: &mut dyn Input) -> Result<Document, FormatError> {
    input.rewind()?;
    let mut doc = Document::new(Kind::Image.mime());
    let exif = match exif::Reader::new().read_from_container(&mut BufReader::new(input)) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => {
            doc.notes.push(NO_EXIF.to_string());
            return Ok(doc);
        }
        Err(e) => return Err(FormatError::malformed("exif", e)),
    };
    let text = |tag: Tag| {
        exif.get_field(tag, In::PRIMARY).map(|f| {
            f.display_value()
                .to_string()
                .trim_matches('"')
                .trim()
                .to_string()
        })
    };
    let camera: Vec<String> = [Tag::Make, Tag::Model]
        .into_iter()
        .filter_map(text)
        .filter(|s| !s.is_empty())
        .collect();
    doc.push_meta(MetaField::Camera, &camera.join(" "));
    if let Some(taken) = text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime)) {
        doc.push_meta(MetaField::Taken, &taken);
    }
    let number = |tags: [Tag; 2]| {
        tags.into_iter().find_map(|tag| {
            exif.get_field(tag, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        })
    };
    if let Some(width) = number([Tag::PixelXDimension, Tag::ImageWidth]) {
        doc.push_meta(MetaField::Width, &width.to_string());
    }
    if let Some(height) = number([Tag::PixelYDimension, Tag::ImageLength]) {
        doc.push_meta(MetaField::Height, &height.to_string());
    }
    Ok(doc)
}
