// The boundary between CRI protobuf messages and peapod's own records: every
// conversion lives here, once, so handlers and stores stay protobuf-free.
#pragma once

#include "cri/store/records.h"
#include "proto/cri_api.h"

namespace peapod::cri {

// Record → CRI list entries and statuses.
void PodToProto(const PodRecord& p, ::runtime::v1::PodSandbox& out);
// Record → CRI PodSandboxStatus.
void PodToProto(const PodRecord& p, ::runtime::v1::PodSandboxStatus& out);
// Record → CRI Container (list entry).
void ContainerToProto(const ContainerRecord& c, ::runtime::v1::Container& out);
// Record → CRI ContainerStatus.
void ContainerToProto(const ContainerRecord& c, ::runtime::v1::ContainerStatus& out);

// CRI metadata → record metadata.
PodMetadata PodMetadataFromProto(const ::runtime::v1::PodSandboxMetadata& m);
// CRI namespace mode ↔ record namespace mode.
NamespaceMode NamespaceModeFromProto(::runtime::v1::NamespaceMode m);
::runtime::v1::NamespaceMode NamespaceModeToProto(NamespaceMode m);

// Whether a record passes a CRI list filter (id by prefix, like crictl;
// state; every label of the selector).
bool PodMatches(const PodRecord& p, const ::runtime::v1::PodSandboxFilter& f);
bool ContainerMatches(const ContainerRecord& c, const ::runtime::v1::ContainerFilter& f);

}  // namespace peapod::cri
