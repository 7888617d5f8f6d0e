// SnapshotFileWriter: one job per write, a chain of libuv file requests
// (open, write, fsync, close, rename) each started from the previous one's
// callback. The job owns its request and its bytes; the writer only points
// at it, and close() cuts that pointer so a job finishing after the writer
// is gone touches nothing but itself.

#include "flags/snapshot_file.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace redge {

struct SnapshotFileWriter::Job {
  enum class Step { Open, Write, Sync, Close, Rename };
  uv_fs_t req{};
  SnapshotFileWriter* owner = nullptr;
  uv_loop_t* loop = nullptr;
  std::string path;
  std::string tmp;
  std::string text;
  uv_file fd = -1;
  size_t written = 0;
  Step step = Step::Open;
  std::string error;  // the first failure

  static void onStepCb(uv_fs_t* req) noexcept {
    auto* job = static_cast<Job*>(req->data);
    ssize_t result = req->result;
    uv_fs_req_cleanup(req);
    job->onStep(result);
  }

  void fail(const char* what, ssize_t result) {
    if (error.empty()) error = std::string(what) + ": " + uv_strerror(static_cast<int>(result));
  }

  void closeFile() {
    step = Step::Close;
    if (uv_fs_close(loop, &req, fd, &onStepCb) != 0) finish();
  }

  void onStep(ssize_t result) {
    switch (step) {
      case Step::Open:
        if (result < 0) {
          fail("open", result);
          finish();
          return;
        }
        fd = static_cast<uv_file>(result);
        step = Step::Write;
        writeMore();
        return;
      case Step::Write:
        if (result < 0) {
          fail("write", result);
          closeFile();
          return;
        }
        written += static_cast<size_t>(result);
        writeMore();
        return;
      case Step::Sync:
        if (result < 0) fail("fsync", result);
        closeFile();
        return;
      case Step::Close:
        if (result < 0) fail("close", result);
        if (!error.empty()) {
          finish();
          return;
        }
        step = Step::Rename;
        if (uv_fs_rename(loop, &req, tmp.c_str(), path.c_str(), &onStepCb) != 0) {
          error = "rename could not start";
          finish();
        }
        return;
      case Step::Rename:
        if (result < 0) fail("rename", result);
        finish();
        return;
    }
  }

  void writeMore() {
    if (written >= text.size()) {
      step = Step::Sync;
      if (uv_fs_fsync(loop, &req, fd, &onStepCb) != 0) closeFile();
      return;
    }
    uv_buf_t buf = uv_buf_init(text.data() + written, static_cast<unsigned>(text.size() - written));
    if (uv_fs_write(loop, &req, fd, &buf, 1, -1, &onStepCb) != 0) {
      error = "write could not start";
      closeFile();
    }
  }

  void finish() {
    if (owner) owner->onJobDone(error.empty(), error);
    delete this;
  }
};

SnapshotFileWriter::SnapshotFileWriter(uv_loop_t* loop, std::string path,
                                       std::function<void(bool, std::string_view)> on_done)
    : loop_(loop), path_(std::move(path)), on_done_(std::move(on_done)) {}

SnapshotFileWriter::~SnapshotFileWriter() {
  close();
}

void SnapshotFileWriter::close() {
  closed_ = true;
  next_.reset();
  if (job_) job_->owner = nullptr;
  job_ = nullptr;
}

void SnapshotFileWriter::write(std::string text) {
  if (closed_) return;
  if (job_) {
    next_ = std::move(text);
    return;
  }
  startJob(std::move(text));
}

void SnapshotFileWriter::startJob(std::string text) {
  auto* job = new Job;
  job->owner = this;
  job->loop = loop_;
  job->path = path_;
  job->tmp = path_ + ".tmp";
  job->text = std::move(text);
  job->req.data = job;
  job_ = job;
  int rc = uv_fs_open(loop_, &job->req, job->tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644,
                      &Job::onStepCb);
  if (rc != 0) {
    job->error = std::string("open: ") + uv_strerror(rc);
    job->finish();
  }
}

void SnapshotFileWriter::onJobDone(bool ok, std::string_view error) {
  job_ = nullptr;
  if (on_done_) on_done_(ok, error);
  if (closed_ || !next_) return;
  std::string text = std::move(*next_);
  next_.reset();
  startJob(std::move(text));
}

std::optional<std::string> readSnapshotFile(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    error = "read failed";
    return std::nullopt;
  }
  return text.str();
}

}  // namespace redge
