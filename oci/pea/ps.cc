// pea ps: the container's processes, as ps(1) rows or a JSON pid list.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "oci/linux/unique_fd.h"
#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kPsFlags[] = {
    {"format", "f", FlagKind::kValue, "select one of: table or json", "\"table\""},
};

// A child process that is always waited for.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Wait(); }
  // Waits (once) and returns the wait status.
  int Wait() {
    while (pid_ > 0 && waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status_;
  }

 private:
  pid_t pid_;
  int status_ = 0;
};

// Runs `ps <args>` and returns its standard output.
absl::StatusOr<std::string> RunPs(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  linux::UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<std::string> argv_s = {"ps"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    dup2(write_end.get(), 1);
    execvp("ps", argv.data());
    _exit(127);
  }
  Child child(pid);
  write_end.Reset();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(read_end.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, n);
  }
  int status = child.Wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("ps ", absl::StrJoin(args, " "), " failed"));
  }
  return out;
}

// Keeps ps's header and the rows whose PID column is one of `pids`.
absl::StatusOr<std::string> FilterPs(const std::string& table, const std::vector<pid_t>& pids) {
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  if (lines.empty()) return absl::InternalError("ps printed nothing");
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end()) return absl::InvalidArgumentError("ps output has no PID column");
  size_t index = col - header.begin();
  std::string out = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    pid_t pid = 0;
    if (cells.size() > index && absl::SimpleAtoi(cells[index], &pid) &&
        std::find(pids.begin(), pids.end(), pid) != pids.end()) {
      out += lines[i] + "\n";
    }
  }
  return out;
}

absl::StatusOr<int> Ps(const Context& ctx, const ParsedFlags& flags) {
  std::string format = flags.Value("format", "table");
  if (format != "table" && format != "json") {
    return absl::InvalidArgumentError("invalid format option \"" + format +
                                      "\": use table or json");
  }
  absl::StatusOr<std::vector<pid_t>> pids = runtime::Pids(ctx.options, flags.positional[0]);
  if (!pids.ok()) return pids.status();
  if (format == "json") {
    fprintf(ctx.out, "[%s]\n", absl::StrJoin(*pids, ",").c_str());
    return 0;
  }
  std::vector<std::string> ps_args(flags.positional.begin() + 1, flags.positional.end());
  if (ps_args.empty()) ps_args = {"-ef"};
  absl::StatusOr<std::string> table = RunPs(ps_args);
  if (!table.ok()) return table.status();
  absl::StatusOr<std::string> rows = FilterPs(*table, *pids);
  if (!rows.ok()) return rows.status();
  fputs(rows->c_str(), ctx.out);
  return 0;
}

}  // namespace

const Command kPsCommand = {
    .name = "ps",
    .summary = "ps displays the processes running inside a container",
    .args_usage = "<container-id> [ps options]",
    .description =
        "The ps command lists the container's processes: with --format json as an array of\n"
        "pids, otherwise as the rows of `ps [ps options]` (default -ef) that belong to it.",
    .flags = kPsFlags,
    .max_args = SIZE_MAX,
    .mode = {.stop_at_positional = true},
    .run = Ps,
};

}  // namespace peapod::pea
