{
  "targets": [
    {
      "target_name": "rtsync_inotify",
      "sources": ["native/inotify/inotify.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/inotify/inotify.c"]}]]
    }
  ]
}
