// Test fixture: a real RocksDB event log in a fresh temporary directory,
// removed afterwards. Never a mock.
#pragma once

#include "storage/event_log.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace deployd::testing {

class temp_event_log {
public:
  temp_event_log() {
    std::string pattern =
      (std::filesystem::temp_directory_path() / "deployd-log-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    reopen();
  }
  ~temp_event_log() {
    log_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  temp_event_log(const temp_event_log&) = delete;
  temp_event_log& operator=(const temp_event_log&) = delete;

  /// Closes and opens the database again (a restart).
  void reopen() {
    log_.reset();
    storage::open_options options;
    options.data_dir = (dir_ / "db").string();
    auto opened = storage::event_log::open(options);
    REQUIRE(opened);
    log_ = std::move(*opened);
  }

  [[nodiscard]] storage::event_log& log() {
    return *log_;
  }
  [[nodiscard]] const std::filesystem::path& dir() const {
    return dir_;
  }

private:
  std::filesystem::path dir_;
  std::unique_ptr<storage::event_log> log_;
};

} // namespace deployd::testing
