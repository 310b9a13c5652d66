// The c10d implementation of engine::GradientSync (the only TU that sees c10d's
// process-group headers).
#include "covergen/distributed/distributed.hpp"

#include "covergen/errors.hpp"
#include "covergen/nn/batch_norm_sync.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <ATen/core/grad_mode.h>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

namespace covergen::distributed {

namespace {

constexpr std::size_t kBucketBytes = 25u << 20;  // as torch DDP's default bucket_cap_mb
constexpr auto kHeartbeat = std::chrono::milliseconds(500);
constexpr auto kSilence = std::chrono::milliseconds(3000);  // no heartbeat for this long: gone

std::string heartbeat_key(int rank) { return "covergen/heartbeat/" + std::to_string(rank); }

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

c10::intrusive_ptr<c10d::TCPStore> connect_store(const WorkerEnv& env, bool server, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = server;
  so.numWorkers = server ? c10::optional<std::size_t>(static_cast<std::size_t>(env.world_size)) : c10::nullopt;
  so.waitWorkers = false;
  so.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
}

class C10dGroup : public engine::GradientSync {
 public:
  C10dGroup(const WorkerEnv& env, c10::Device device) : env_(env), device_(device) {
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(env.timeout);
    const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
    try {
      store_ = connect_store(env, env.rank == 0 && !env.store_hosted, timeout);
      // Every rank checks in; the group forms when all have (or the timeout says who is missing).
      store_->set("covergen/joined/" + std::to_string(env.rank), {1});
      std::vector<std::string> keys;
      for (int r = 0; r < env.world_size; ++r) keys.push_back("covergen/joined/" + std::to_string(r));
      try {
        store_->wait(keys, timeout);
      } catch (const std::exception&) {
        std::string missing;
        for (int r = 0; r < env.world_size; ++r)
          if (!store_->check({keys[static_cast<std::size_t>(r)]})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw Error("data-parallel rendezvous at " + where + ": rank(s) " + missing + " of " +
                    std::to_string(env.world_size) + " did not join within " + std::to_string(env.timeout.count()) +
                    " s (start every worker with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE)");
      }
      if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout;
        pg_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, env.rank, env.world_size, opts);
#else
        throw Error("data-parallel training on " + device.str() +
                    " needs LibTorch built with NCCL (USE_C10D_NCCL); this build has Gloo (CPU) only");
#endif
      } else {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
          opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (is_loopback(env.master_addr))
          opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
          opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        opts->threads = 2;
        pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, opts);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("data-parallel rendezvous at " + where + " (rank " + std::to_string(env.rank) + " of " +
                  std::to_string(env.world_size) + ") failed: " + first_line(e.what()));
    }
    heartbeat_ = std::thread([this] { beat(); });
    nn::set_batch_norm_all_reduce([this](at::Tensor& t) { sum(t); });
  }

  ~C10dGroup() override {
    nn::set_batch_norm_all_reduce({});
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
  }

  int rank() const override { return env_.rank; }
  int world_size() const override { return env_.world_size; }

  void broadcast(const std::vector<at::Tensor>& tensors) override {
    for (auto& bucket : buckets(tensors)) {
      at::Tensor flat = flatten(bucket);
      std::vector<at::Tensor> io{flat};
      c10d::BroadcastOptions bo;
      bo.rootRank = 0;
      run("broadcast", [&] { pg_->broadcast(io, bo)->wait(); });
      unflatten(flat, bucket);
    }
  }

  void average_gradients(const std::vector<at::Tensor>& grads) override {
    // All buckets are queued before the first is waited for, so the backend works on
    // one while the next is flattened.
    std::vector<std::vector<at::Tensor>> bs = buckets(grads);
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    run("all-reduce of gradients", [&] {
      for (auto& b : bs) {
        flats.push_back(flatten(b));
        std::vector<at::Tensor> io{flats.back()};
        works.push_back(pg_->allreduce(io));
      }
      for (auto& w : works) w->wait();
    });
    for (std::size_t i = 0; i < bs.size(); ++i) {
      flats[i].div_(static_cast<double>(env_.world_size));
      unflatten(flats[i], bs[i]);
    }
  }

  void sum(at::Tensor& tensor) override {
    at::Tensor t = tensor.is_contiguous() ? tensor : tensor.contiguous();
    std::vector<at::Tensor> io{t};
    run("all-reduce", [&] { pg_->allreduce(io)->wait(); });
    if (!t.is_same(tensor)) tensor.copy_(t);
  }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  // Consecutive tensors of one dtype and device, up to kBucketBytes each.
  static std::vector<std::vector<at::Tensor>> buckets(const std::vector<at::Tensor>& ts) {
    std::vector<std::vector<at::Tensor>> out;
    std::size_t bytes = 0;
    for (const auto& t : ts) {
      const std::size_t n = static_cast<std::size_t>(t.numel()) * t.element_size();
      if (out.empty() || bytes + n > kBucketBytes || out.back().front().scalar_type() != t.scalar_type() ||
          out.back().front().device() != t.device()) {
        out.emplace_back();
        bytes = 0;
      }
      out.back().push_back(t);
      bytes += n;
    }
    return out;
  }
  static at::Tensor flatten(const std::vector<at::Tensor>& ts) {
    std::vector<at::Tensor> flat;
    for (const auto& t : ts) flat.push_back(t.reshape({-1}));
    return at::cat(flat);
  }
  static void unflatten(const at::Tensor& flat, const std::vector<at::Tensor>& ts) {
    at::NoGradGuard ng;
    std::int64_t off = 0;
    for (const auto& t : ts) {
      at::Tensor dst = t;  // shares storage with the caller's tensor
      dst.copy_(flat.narrow(0, off, t.numel()).view(t.sizes()));
      off += t.numel();
    }
  }

  // Runs a collective; a failure becomes an Error that names the lost rank(s).
  template <class F>
  void run(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      throw Error(lost_peer_message(what, first_line(e.what())));
    }
  }

  void beat() {
    c10::intrusive_ptr<c10d::TCPStore> hb;
    try {
      hb = connect_store(env_, false, std::chrono::milliseconds(5000));
    } catch (const std::exception&) {
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      try {
        hb->add(heartbeat_key(env_.rank), 1);
      } catch (const std::exception&) {
        return;  // the store is gone: a failing collective reports it
      }
      lock.lock();
      cv_.wait_for(lock, kHeartbeat, [this] { return stop_; });
    }
  }

  // Which peers stopped beating: two readings kSilence apart.
  std::string lost_peer_message(const char* what, const std::string& cause) {
    const std::string head = "data-parallel training stopped on rank " + std::to_string(env_.rank) + ": " + what +
                             " failed (" + cause + "); ";
    const std::string tail = ". The last checkpoint written by rank 0 stays loadable: restart all workers with --resume.";
    std::vector<std::int64_t> before(static_cast<std::size_t>(env_.world_size)), after(before);
    try {
      auto probe = connect_store(env_, false, std::chrono::milliseconds(5000));
      for (int r = 0; r < env_.world_size; ++r) before[static_cast<std::size_t>(r)] = probe->add(heartbeat_key(r), 0);
      std::this_thread::sleep_for(kSilence);
      for (int r = 0; r < env_.world_size; ++r) after[static_cast<std::size_t>(r)] = probe->add(heartbeat_key(r), 0);
    } catch (const std::exception&) {
      if (env_.store_hosted)
        return head + "the launcher that hosts the rendezvous store at " + env_.master_addr + ":" +
               std::to_string(env_.master_port) + " is gone" + tail;
      return head + "lost rank 0: the rendezvous store it hosts at " + env_.master_addr + ":" +
             std::to_string(env_.master_port) + " no longer answers" + tail;
    }
    std::string lost;
    for (int r = 0; r < env_.world_size; ++r)
      if (r != env_.rank && before[static_cast<std::size_t>(r)] == after[static_cast<std::size_t>(r)])
        lost += (lost.empty() ? "" : ", ") + std::to_string(r);
    if (lost.empty())
      return head + "every peer still has a heartbeat, so a peer failed on its own (see its error) or the network "
                    "between the ranks broke" + tail;
    return head + "lost rank " + lost + " (no heartbeat for " + std::to_string(kSilence.count() / 1000) +
           " s: its process died or stopped; see its own output)" + tail;
  }

  WorkerEnv env_;
  c10::Device device_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  std::thread heartbeat_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace

std::shared_ptr<engine::GradientSync> join_group(const WorkerEnv& env, c10::Device device) {
  return std::make_shared<C10dGroup>(env, device);
}

}  // namespace covergen::distributed
