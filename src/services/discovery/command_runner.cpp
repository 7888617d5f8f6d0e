// CommandRunner: uv_spawn with one owner and one close path per child (see
// the header).

#include "services/discovery/command_runner.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace redge {

int64_t CommandRunner::run(const std::vector<std::string>& argv, bool inherit_output,
                           ExitCallback on_exit, int* pid) {
  if (closed_) return UV_ECANCELED;
  if (argv.empty() || argv[0].empty()) return UV_EINVAL;
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;  // libuv gives the child /dev/null
  for (int fd = 1; fd <= 2; ++fd) {
    if (inherit_output) {
      stdio[fd].flags = UV_INHERIT_FD;
      stdio[fd].data.fd = STDERR_FILENO;  // redge's log stream: the journal under systemd
    } else {
      stdio[fd].flags = UV_IGNORE;
    }
  }
  uv_process_options_t options{};
  options.exit_cb = &CommandRunner::onExitCb;
  options.file = args[0];
  options.args = args.data();
  options.flags = UV_PROCESS_DETACHED;
  options.stdio_count = 3;
  options.stdio = stdio;

  auto* child = new Child{};
  child->owner = this;
  child->id = next_id_++;
  child->on_exit = std::move(on_exit);
  int rc = uv_spawn(loop_, &child->process, &options);
  child->process.data = child;
  if (rc != 0) {
    // The handle was initialised even though nothing runs: it still closes.
    child->owner = nullptr;
    child->on_exit = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&child->process), &CommandRunner::onClosedCb);
    return rc;
  }
  if (pid) *pid = child->process.pid;
  children_.emplace(child->id, child);
  return child->id;
}

void CommandRunner::terminate(int64_t id) {
  auto it = children_.find(id);
  if (it == children_.end()) return;
  uv_process_kill(&it->second->process, SIGTERM);
}

void CommandRunner::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [id, child] : children_) {
    child->owner = nullptr;
    child->on_exit = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&child->process), &CommandRunner::onClosedCb);
  }
  children_.clear();
}

void CommandRunner::onExitCb(uv_process_t* process, int64_t exit_status, int term_signal) noexcept {
  auto* child = static_cast<Child*>(process->data);
  if (child == nullptr || child->owner == nullptr) return;
  ExitCallback cb = std::move(child->on_exit);
  child->owner->children_.erase(child->id);
  child->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(process), &CommandRunner::onClosedCb);
  if (cb) cb(exit_status, term_signal);
}

void CommandRunner::onClosedCb(uv_handle_t* handle) noexcept {
  delete static_cast<Child*>(handle->data);
}

int findFreeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  } else {
    port = -errno;
  }
  ::close(fd);
  return port;
}

}  // namespace redge
