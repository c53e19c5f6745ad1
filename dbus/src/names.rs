//! The bus name, object paths and interface names fandex serves, in one place.

/// The well-known name fandex owns on the session bus.
pub const BUS_NAME: &str = "org.fandex.Fandex";
/// The object implementing GNOME Shell's `org.gnome.Shell.SearchProvider2`.
pub const SEARCH_PROVIDER_PATH: &str = "/org/fandex/SearchProvider";
/// The object implementing KRunner's `org.kde.krunner1`.
pub const KRUNNER_PATH: &str = "/org/fandex/KRunner";
/// The object implementing fandex's own API, `org.fandex.Fandex1`.
pub const FANDEX_PATH: &str = "/org/fandex/Fandex";
/// fandex's own interface.
pub const FANDEX_INTERFACE: &str = "org.fandex.Fandex1";
