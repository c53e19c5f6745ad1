//! fandex
