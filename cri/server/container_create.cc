// CreateContainer: image → overlay rootfs → config.json → shim Create →
// record CREATED. Every step that leaves something behind pushes its undo;
// a failure runs them newest first. A peapodd killed half-way leaves no
// record, and RecoverContainers removes the rest at the next start.
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <utility>
#include <vector>

#include "cri/images/fs_util.h"
#include "cri/server/container_hooks.h"
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/server/pod_network.h"
#include "cri/spec/container_spec.h"
#include "cri/spec/from_cri.h"
#include "cri/store/id.h"
#include "cri/store/record_file.h"
#include "cri/util/failpoint.h"
#include "cri/util/str.h"
#include "cri/util/time.h"
#include "oci/linux/file_util.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;

// Annotation keys (exact, or prefixes ending in '*') a container's config
// may carry into config.json. The deny-list in cri/spec (run.oci.*,
// org.systemd.property.*, org.criu.config, bundle, ...) wins over this.
const std::vector<std::string> kAnnotationAllowlist = {"io.kubernetes.*"};

// Undo steps of a half-done create, run newest first unless dismissed. A
// failing undo is logged and never replaces the error being returned.
class CreateUndo {
 public:
  explicit CreateUndo(Logger& log) : log_(log) {}
  CreateUndo(const CreateUndo&) = delete;
  CreateUndo& operator=(const CreateUndo&) = delete;
  ~CreateUndo() {
    for (auto it = steps_.rbegin(); !done_ && it != steps_.rend(); ++it) {
      if (absl::Status s = it->second(); !s.ok()) {
        log_.Warn(Cat("rollback: ", it->first, ": ", s.ToString()));
      }
    }
  }
  void Push(std::string what, std::function<absl::Status()> undo) {
    steps_.emplace_back(std::move(what), std::move(undo));
  }
  void Dismiss() { done_ = true; }

 private:
  Logger& log_;
  std::vector<std::pair<std::string, std::function<absl::Status()>>> steps_;
  bool done_ = false;
};

absl::Status WithContext(const absl::Status& s, std::string_view what) {
  return absl::Status(s.code(), Cat(what, ": ", s.message()));
}

// The pod as the container sees it: the request's sandbox config, else what
// the pod record remembers; the infra's namespaces.
absl::StatusOr<spec::ContainerSpecInput> Translate(const v1::CreateContainerRequest& req,
                                                   const PodRecord& pod) {
  v1::PodSandboxConfig sandbox = req.sandbox_config();
  if (!req.has_sandbox_config()) {
    *sandbox.mutable_metadata()->mutable_name() = pod.metadata.name;
    *sandbox.mutable_metadata()->mutable_namespace_() = pod.metadata.namespace_;
    *sandbox.mutable_metadata()->mutable_uid() = pod.metadata.uid;
    sandbox.set_hostname(pod.hostname);
    sandbox.set_log_directory(pod.log_directory);
  }
  absl::StatusOr<spec::ContainerSpecInput> in = spec::ContainerInputFromCri(req.config(), sandbox);
  if (!in.ok()) return in.status();
  in->pod.id = pod.id;
  if (!req.has_sandbox_config()) {
    auto mode = [](NamespaceMode m) { return static_cast<spec::NamespaceMode>(m); };
    in->pod.namespaces.network = mode(pod.network_mode);
    in->pod.namespaces.pid = mode(pod.pid_mode);
    in->pod.namespaces.ipc = mode(pod.ipc_mode);
    in->security.namespaces = in->pod.namespaces;
  }
  if (pod.infra_pid <= 0) {
    return absl::FailedPreconditionError(Cat("pod sandbox ", pod.id, " has no infra process"));
  }
  struct stat st;
  if (stat(Cat("/proc/", pod.infra_pid, "/ns/net").c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        Cat("pod sandbox ", pod.id, ": its infra process ", pod.infra_pid, " is gone"));
  }
  spec::SetPodNamespacePaths(static_cast<int>(pod.infra_pid), &in->pod);
  // H4: the pod's /etc/hosts (and hostname, resolv.conf) paths go into
  // in->pod.{hosts,hostname,resolv_conf}_path here; PodFileMounts binds them
  // unless the container config already mounts the destination.
  in->annotation_allowlist = kAnnotationAllowlist;
  return in;
}

// The CRI log file: <log_directory>/<log_path>, its directory created.
absl::StatusOr<std::string> PrepareLog(const std::string& log_directory,
                                       const std::string& log_path) {
  if (log_path.empty()) return std::string();
  if (log_directory.empty()) {
    return absl::InvalidArgumentError(
        Cat("log_path \"", log_path, "\" needs the pod's log_directory, which is empty"));
  }
  if (log_directory[0] != '/') {
    return absl::InvalidArgumentError(
        Cat("log_directory \"", log_directory, "\" is not an absolute path"));
  }
  if (log_path[0] == '/' || log_path.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(
        Cat("log_path \"", log_path, "\" must be relative and stay inside log_directory"));
  }
  std::string path = Cat(log_directory, "/", log_path);
  if (absl::Status s = images::MakeDirs(path.substr(0, path.rfind('/')), 0755); !s.ok()) {
    return WithContext(s, "creating the log directory");
  }
  return path;
}

}  // namespace

absl::Status HandleCreateContainer(Daemon& d, const v1::CreateContainerRequest& req,
                                   v1::CreateContainerResponse& resp) {
  const v1::ContainerConfig& config = req.config();
  // 1. The pod, the names, the image.
  if (config.metadata().name().empty()) {
    return absl::InvalidArgumentError("config.metadata.name must not be empty");
  }
  if (config.image().image().empty()) {
    return absl::InvalidArgumentError("config.image.image must not be empty");
  }
  // The pod's lock for the whole create: the pod cannot be stopped or
  // removed half-way (its containers would outlive it).
  absl::StatusOr<std::string> pod_id = d.pods->Resolve(req.pod_sandbox_id());
  if (!pod_id.ok()) return pod_id.status();
  ObjectLocks::Held pod_lock = d.pod_locks.Lock(*pod_id);
  absl::StatusOr<PodRecord> pod = d.pods->Get(*pod_id);
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return absl::FailedPreconditionError(Cat("pod sandbox ", pod->id, " is not ready"));
  }
  ContainerRecord rec;
  rec.id = NewId();
  rec.pod_id = pod->id;
  rec.name = config.metadata().name();
  rec.attempt = config.metadata().attempt();
  rec.unique_name = ContainerUniqueName(pod->metadata, rec.name, rec.attempt);
  if (absl::StatusOr<std::string> other = d.containers->IdByName(rec.unique_name); other.ok()) {
    return absl::AlreadyExistsError(
        Cat("container name \"", rec.unique_name, "\" is already reserved by ", *other));
  }
  absl::StatusOr<images::ImageRecord> image = d.images->Resolve(config.image().image());
  if (absl::IsNotFound(image.status())) {
    return absl::NotFoundError(
        Cat("image \"", config.image().image(), "\" is not present: pull it first"));
  }
  if (!image.ok()) return WithContext(image.status(), Cat("image ", config.image().image()));
  absl::StatusOr<images::ImageConfig> image_config = d.images->Config(*image);
  if (!image_config.ok()) return image_config.status();
  absl::StatusOr<spec::ContainerSpecInput> in = Translate(req, *pod);
  if (!in.ok()) return in.status();
  // The pod's /etc/hosts, /etc/hostname, /etc/resolv.conf (PodFileMounts
  // binds them unless the config mounts the destination itself), and a
  // lifecycle annotation that would fail later is refused now.
  SetPodFilePaths(d, pod->id, &in->pod);
  if (absl::Status s = CheckLifecycleAnnotation(
          StringMap(config.annotations().begin(), config.annotations().end()));
      !s.ok()) {
    return s;
  }
  in->id = rec.id;
  in->image_name = config.image().image();
  in->image = {image_config->entrypoint, image_config->cmd, image_config->env,
               image_config->working_dir, image_config->user};
  int stop_signal = 15;
  if (!image_config->stop_signal.empty()) {
    absl::StatusOr<int> sig = ParseSignal(image_config->stop_signal);
    if (!sig.ok()) return WithContext(sig.status(), "the image's StopSignal");
    stop_signal = *sig;
  }
  absl::StatusOr<std::string> log_path = PrepareLog(
      pod->log_directory.empty() ? req.sandbox_config().log_directory() : pod->log_directory,
      config.log_path());
  if (!log_path.ok()) return log_path.status();

  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, pod->id);
  if (!shim.ok()) return shim.status();
  std::string bundle = ContainerBundleDir(d, rec.id);
  // Declared after everything its steps use, so it runs before they go.
  CreateUndo undo(d.log);
  // 2. The bundle directory and the overlay root filesystem.
  if (absl::Status s = images::MakeDirs(bundle, 0700); !s.ok()) return s;
  undo.Push("remove bundle", [&] { return images::RemoveAll(bundle); });
  absl::StatusOr<std::string> rootfs = d.images->Mount(rec.id, image->id);
  undo.Push("unmount rootfs", [&] { return d.images->Unmount(rec.id); });
  if (!rootfs.ok()) return WithContext(rootfs.status(), "mounting the container's rootfs");
  Failpoint("create-container:rootfs-mounted");
  // 3. config.json from the container config, the image and the pod.
  in->rootfs_path = *rootfs;
  absl::StatusOr<oci::Spec> spec = spec::BuildContainerSpec(*in);
  if (!spec.ok()) return spec.status();
  spec->annotations[kStopSignalAnnotation] = std::to_string(stop_signal);
  if (absl::Status s = linux::ReplaceFile(bundle + "/config.json", oci::SerializeSpec(*spec, true));
      !s.ok()) {
    return s;
  }
  Failpoint("create-container:config-written");
  // 4. The shim creates the container: its init waits before exec.
  task::CreateTaskRequest create;
  create.set_id(rec.id);
  create.set_bundle(bundle);
  create.set_terminal(config.tty());
  if (!log_path->empty()) {
    create.set_stdout(Cat("crilog://", *log_path));
    create.set_stderr(Cat("crilog://", *log_path));
  }
  if (config.stdin()) {
    // Clients attach to it; the shim keeps it open meanwhile (cristdin://).
    std::string in = ContainerStdinPath(d, rec.id);
    if (mkfifo(in.c_str(), 0600) != 0) return images::ErrnoStatus("mkfifo " + in, errno);
    create.set_stdin(Cat("cristdin://", in));
  }
  absl::StatusOr<uint32_t> pid = (*shim)->Create(create);
  if (!pid.ok()) return pid.status();
  undo.Push("delete from the shim", [&]() -> absl::Status {
    (void)(*shim)->Kill(rec.id, 9, /*all=*/true);
    absl::StatusOr<ExitInfo> e = (*shim)->Delete(rec.id);
    return e.ok() || absl::IsNotFound(e.status()) ? absl::OkStatus() : e.status();
  });
  Failpoint("create-container:shim-created");
  // 5. The record: from here on the container exists.
  rec.image = config.image().image();
  rec.image_ref = image->id;
  rec.state = ContainerState::kCreated;
  rec.created_at = NowNs();
  rec.labels.insert(config.labels().begin(), config.labels().end());
  rec.annotations.insert(config.annotations().begin(), config.annotations().end());
  rec.log_path = *log_path;
  rec.tty = config.tty();
  rec.stdin = config.stdin();
  rec.stdin_once = config.stdin_once();
  rec.pid = *pid;
  if (absl::Status s = d.containers->Add(rec); !s.ok()) return s;
  Failpoint("create-container:recorded");
  undo.Dismiss();
  resp.set_container_id(rec.id);
  return absl::OkStatus();
}

}  // namespace peapod::cri
