#pragma once
// The flag snapshot on disk (flags.snapshot_path): written after every
// change, off the loop's back (libuv's file requests run on its thread
// pool), to "<path>.tmp" then renamed over <path>, so a reader (the next
// start) finds the old file or the new one, never half of one. Writes are
// coalesced: while one is out, only the newest text waits for its turn.
//
// Lifetime: close() detaches the writer; a write in flight finishes on its
// own (the loop runs its callbacks before uv_run returns) and frees itself.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace redge {

class SnapshotFileWriter {
 public:
  // `on_done(ok, error)` runs after each write (for logs and metrics).
  SnapshotFileWriter(uv_loop_t* loop, std::string path,
                     std::function<void(bool ok, std::string_view error)> on_done);
  ~SnapshotFileWriter();
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;

  void write(std::string text);
  void close();
  const std::string& path() const { return path_; }

 private:
  struct Job;
  void startJob(std::string text);
  void onJobDone(bool ok, std::string_view error);

  uv_loop_t* loop_;
  std::string path_;
  std::function<void(bool, std::string_view)> on_done_;
  Job* job_ = nullptr;               // the write in flight
  std::optional<std::string> next_;  // the newest text, waiting for it
  bool closed_ = false;
};

// Reads the whole file at start-up (before the loop runs: blocking is fine
// there). nullopt when it does not exist or cannot be read; `error` says why.
std::optional<std::string> readSnapshotFile(const std::string& path, std::string& error);

}  // namespace redge
