// peactl images / pull / inspecti / rmi.
#include <iostream>

#include "cri/peactl/message_file.h"
#include "cri/peactl/output.h"
#include "cri/peactl/peactl.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

struct ImagesOptions {
  std::string filter, output = "table";
  bool quiet = false, digests = false, no_trunc = false;
};

// "repo:tag" → {"repo", "tag"}; a port's ':' is not a tag separator.
std::pair<std::string, std::string> SplitTag(const std::string& ref) {
  size_t colon = ref.rfind(':');
  if (colon == std::string::npos || ref.find('/', colon) != std::string::npos) return {ref, ""};
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

int Images(const Globals& g, const ImagesOptions& o) {
  v1::ListImagesRequest req;
  if (!o.filter.empty()) req.mutable_filter()->mutable_image()->set_image(o.filter);
  Client c = Connect(g);
  v1::ListImagesResponse resp;
  if (grpc::Status s = c.images->ListImages(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("listing images", s);
  }
  if (o.output != "table") {
    return PrintDocument(MessageJson(resp), o.output) ? 0 : Fail("unknown output format");
  }
  std::vector<std::string> header = {"IMAGE", "TAG"};
  if (o.digests) header.push_back("DIGEST");
  header.insert(header.end(), {"IMAGE ID", "SIZE"});
  Table t(header);
  for (const v1::Image& img : resp.images()) {
    if (o.quiet) {
      std::cout << img.id() << "\n";
      continue;
    }
    std::vector<std::string> tags(img.repo_tags().begin(), img.repo_tags().end());
    if (tags.empty()) tags.push_back("<none>:<none>");
    std::string digest = img.repo_digests().empty() ? "<none>" : img.repo_digests(0);
    if (size_t at = digest.find('@'); at != std::string::npos) digest = digest.substr(at + 1);
    for (const std::string& tag : tags) {
      auto [repo, version] = SplitTag(tag);
      std::vector<std::string> row = {repo, version.empty() ? "<none>" : version};
      if (o.digests) row.push_back(ShortId(digest, o.no_trunc));
      row.insert(row.end(), {ShortId(img.id(), o.no_trunc), HumanSize(img.size())});
      t.Add(std::move(row));
    }
  }
  if (!o.quiet) t.Print();
  return 0;
}

int Pull(const Globals& g, const std::string& image, const std::string& creds,
         const std::string& auth, const std::string& pod_config) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  if (!creds.empty()) {
    size_t colon = creds.find(':');
    req.mutable_auth()->set_username(creds.substr(0, colon));
    if (colon != std::string::npos) req.mutable_auth()->set_password(creds.substr(colon + 1));
  }
  if (!auth.empty()) req.mutable_auth()->set_auth(auth);
  if (!pod_config.empty()) {
    if (absl::Status s = LoadMessageFile(pod_config, *req.mutable_sandbox_config()); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  Client c = Connect(g);
  auto ctx = std::make_unique<grpc::ClientContext>();  // Pulls may take long: no deadline.
  v1::PullImageResponse resp;
  if (grpc::Status s = c.images->PullImage(ctx.get(), req, &resp); !s.ok()) {
    return Fail("pulling image " + image, s);
  }
  std::cout << "Image is up to date for " << resp.image_ref() << "\n";
  return 0;
}

int InspectImages(const Globals& g, const std::vector<std::string>& images,
                  const std::string& format) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& image : images) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image);
    req.set_verbose(true);
    v1::ImageStatusResponse resp;
    if (grpc::Status s = c.images->ImageStatus(c.Context().get(), req, &resp); !s.ok()) {
      rc = Fail("inspecting image " + image, s);
      continue;
    }
    if (!resp.has_image()) {
      rc = Fail("no such image " + image);
      continue;
    }
    if (!PrintDocument(InspectDocument(resp.image(), resp.info()), format)) {
      return Fail("unknown output format");
    }
  }
  return rc;
}

int RemoveImages(const Globals& g, const std::vector<std::string>& images) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& image : images) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    v1::RemoveImageResponse resp;
    if (grpc::Status s = c.images->RemoveImage(c.Context().get(), req, &resp); !s.ok()) {
      rc = Fail("removing image " + image, s);
      continue;
    }
    std::cout << "Deleted: " << image << "\n";
  }
  return rc;
}

}  // namespace

void SetupImageVerbs(CLI::App& app, Globals& g) {
  auto io = std::make_shared<ImagesOptions>();
  CLI::App* images = app.add_subcommand("images", "List images");
  images->alias("image");
  images->add_option("REPOSITORY", io->filter, "Only images matching this reference");
  images->add_option("-o,--output", io->output, "Output format: table, json or yaml");
  images->add_flag("-q,--quiet", io->quiet, "Only display image ids");
  images->add_flag("--digests", io->digests, "Show digests");
  images->add_flag("--no-trunc", io->no_trunc, "Show full ids");
  images->callback([&g, io] { g.exit_code = Images(g, *io); });

  auto image = std::make_shared<std::string>();
  auto creds = std::make_shared<std::string>();
  auto auth = std::make_shared<std::string>();
  auto pod_config = std::make_shared<std::string>();
  CLI::App* pull = app.add_subcommand("pull", "Pull an image from a registry");
  pull->add_option("IMAGE", *image, "Image reference")->required();
  pull->add_option("--creds", *creds, "USERNAME[:PASSWORD] for the registry");
  pull->add_option("--auth", *auth, "Base64 USERNAME:PASSWORD for the registry");
  pull->add_option("-p,--pod-config", *pod_config, "Pod config file for the pull context");
  pull->callback([&g, image, creds, auth, pod_config] {
    g.exit_code = Pull(g, *image, *creds, *auth, *pod_config);
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("json");
  CLI::App* inspecti = app.add_subcommand("inspecti", "Return the status of one or more images");
  inspecti->add_option("IMAGE-ID", *refs, "Image ids or references")->required();
  inspecti->add_option("-o,--output", *format, "Output format: json or yaml");
  inspecti->callback([&g, refs, format] { g.exit_code = InspectImages(g, *refs, *format); });

  CLI::App* rmi = app.add_subcommand("rmi", "Remove one or more images");
  rmi->add_option("IMAGE-ID", *refs, "Image ids or references")->required();
  rmi->callback([&g, refs] { g.exit_code = RemoveImages(g, *refs); });
}

}  // namespace peapod::cri::peactl
