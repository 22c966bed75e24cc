;;; emacs_e2e.el --- end-to-end driver: Emacs + Eglot + editors/emacs/labelsense.el  -*- lexical-binding: t; -*-

;; emacs --batch -l emacs_e2e.el      (LABELSENSE_E2E=params.json)
;;
;; params.json: {"out": path, "plugin": editors/emacs, "cmd": [exe, "serve"],
;;               "file": manifest, "line": 0-based row, "col": 0-based column of a label,
;;               "history": bool, "second": another manifest, "second_line": its conflict's row}
;;
;; Loads the real labelsense.el, opens the manifest the way a user would (its
;; jsonl-mode hook runs `eglot-ensure'), and writes what Emacs shows to "out":
;; Flymake's diagnostics, the hover text Eldoc gets, and where
;; `xref-find-definitions' lands.  In --batch no timers or command loop run, so
;; the driver runs the post-command hook and waits on the server's output.

(require 'json)
(require 'cl-lib)

(defvar e2e-params (let ((json-object-type 'alist) (json-array-type 'list))
                     (json-read-file (getenv "LABELSENSE_E2E"))))
(defvar e2e-result (list (cons 'steps nil)))
(defconst e2e-wait 10.0)

(defun e2e-param (key) (cdr (assq key e2e-params)))
(defun e2e-put (key value) (setf (alist-get key e2e-result) value))
(defun e2e-step (name) (e2e-put 'steps (append (alist-get 'steps e2e-result) (list name))))

(defun e2e-wait-for (pred &optional seconds)
  "Process server output until PRED is non-nil or SECONDS pass; PRED's last value."
  (let ((deadline (+ (float-time) (or seconds e2e-wait))) value)
    (while (and (not (setq value (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    value))

(defun e2e-write ()
  (let ((json-encoding-pretty-print nil))
    (with-temp-file (e2e-param 'out)
      (insert (json-encode e2e-result)))))

(defun e2e-goto (line col)
  (goto-char (point-min))
  (forward-line line)
  (forward-char col))

(defun e2e-conflict-p (line)
  "Whether Flymake shows an LS401 diagnostic on 0-based LINE of the current buffer."
  (cl-some (lambda (d) (and (string-match-p "\\[LS401\\]" (flymake-diagnostic-text d))
                            (= (1- (line-number-at-pos (flymake-diagnostic-beg d))) line)))
           (flymake-diagnostics)))

(defun e2e-diagnostics ()
  "Flymake's diagnostics in the current buffer, in order."
  (mapcar (lambda (d)
            (let ((beg (flymake-diagnostic-beg d)))
              (list (cons 'line (1- (line-number-at-pos beg)))
                    (cons 'col (save-excursion (goto-char beg) (current-column)))
                    (cons 'type (symbol-name (flymake-diagnostic-type d)))
                    (cons 'text (flymake-diagnostic-text d)))))
          (sort (flymake-diagnostics) (lambda (a b) (< (flymake-diagnostic-beg a) (flymake-diagnostic-beg b))))))

(defun e2e-run ()
  (add-to-list 'load-path (e2e-param 'plugin))
  (require 'labelsense)
  (setq labelsense-server-command (e2e-param 'cmd)
        labelsense-settings '(:preview :json-false)
        eglot-sync-connect t)
  (add-hook 'jsonl-mode-hook #'eglot-ensure)

  (e2e-step "open")
  (find-file (e2e-param 'file))
  (let ((manifest (current-buffer)))
    (e2e-put 'major_mode (symbol-name major-mode))
    (e2e-put 'markdown (and (fboundp 'gfm-view-mode) t))  ; Eglot asks for markdown hovers only then
    (run-hooks 'post-command-hook)      ; eglot-ensure connects from there
    (e2e-step "attach")
    (e2e-wait-for (lambda () (bound-and-true-p eglot--managed-mode)))
    (let ((server (eglot-current-server)))
      (e2e-put 'server (and server (list (cons 'root (project-root (eglot--project server)))
                                         (cons 'command (process-command (jsonrpc--process server)))
                                         (cons 'modes (mapcar #'symbol-name (eglot--major-modes server)))))))

    (e2e-step "diagnostics")
    (flymake-start)
    (e2e-wait-for (lambda () (e2e-conflict-p (e2e-param 'line))))
    (e2e-put 'diagnostics (e2e-diagnostics))

    (e2e-step "hover")
    (e2e-goto (e2e-param 'line) (e2e-param 'col))
    (let (hover)
      ;; what Eldoc calls on an idle cursor
      (eglot-hover-eldoc-function (lambda (info &rest _) (setq hover (or info ""))))
      (e2e-wait-for (lambda () hover))
      (e2e-put 'hover (and hover (substring-no-properties hover))))

    (e2e-step "definition")
    (e2e-goto (e2e-param 'line) (e2e-param 'col))
    (xref-find-definitions "LSP identifier at point")
    (e2e-wait-for (lambda () (not (eq (current-buffer) manifest))))
    (e2e-put 'definition (list (cons 'file buffer-file-name)
                               (cons 'line (1- (line-number-at-pos)))
                               (cons 'col (current-column))
                               (cons 'text (buffer-substring-no-properties (line-beginning-position) (line-end-position)))))

    (when (e2e-param 'history)
      (e2e-step "history")
      (with-current-buffer manifest
        (let ((buf (labelsense-label-history (e2e-param 'line))))
          (e2e-put 'history (with-current-buffer buf (buffer-string))))))

    ;; another manifest of the dataset, opened after the server has indexed it
    (e2e-step "second")
    (find-file (e2e-param 'second))
    (run-hooks 'post-command-hook)
    (e2e-wait-for (lambda () (bound-and-true-p eglot--managed-mode)))
    (flymake-start)
    (e2e-wait-for (lambda () (e2e-conflict-p (e2e-param 'second_line))))
    (e2e-put 'second (list (cons 'file buffer-file-name)
                           (cons 'major_mode (symbol-name major-mode))
                           (cons 'same_server (eq (eglot-current-server) (with-current-buffer manifest (eglot-current-server))))
                           (cons 'diagnostics (e2e-diagnostics))))

    (e2e-step "done")
    (with-current-buffer manifest
      (ignore-errors (eglot-shutdown (eglot-current-server) nil 2)))))

(condition-case err
    (progn (e2e-run) (e2e-write) (kill-emacs 0))
  (error
   (e2e-put 'error (format "%S" err))
   (e2e-write)
   (kill-emacs 1)))
