;;; labelsense.el --- labelsense language server for Eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (eglot "1.9"))
;; Keywords: languages, tools, data
;; URL: https://github.com/labelsense/labelsense

;;; Commentary:

;; Connects Eglot to `labelsense serve', the language server for dataset label
;; files: diagnostics, hover, go to definition (label -> taxonomy class),
;; references, rename, completion and quick fixes in JSONL manifests.
;;
;;   (add-to-list 'load-path "/path/to/labelsense/editors/emacs")
;;   (require 'labelsense)
;;   (add-hook 'jsonl-mode-hook #'eglot-ensure)
;;
;; This file defines `jsonl-mode' (unless another package already did) for
;; *.jsonl and *.ndjson, adds an `eglot-server-programs' entry that runs
;; `labelsense serve' (found on `exec-path', else in <project>/.venv/bin), and a
;; project finder so that the project root is the nearest directory with a
;; labelsense.toml, pyproject.toml or .git.  `M-x labelsense-label-history'
;; shows who changed the label of the row at point, and when.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'project)
(require 'subr-x)

(defgroup labelsense nil
  "The labelsense language server for dataset label files."
  :group 'tools
  :prefix "labelsense-")

(defcustom labelsense-server-command nil
  "Command (a list of strings) that starts the labelsense language server.
nil means \"labelsense serve\", with `labelsense' from `exec-path',
else from the project's .venv/bin."
  :type '(choice (const :tag "Find labelsense" nil) (repeat string)))

(defcustom labelsense-settings nil
  "Settings sent to the server as initializationOptions, a plist.
For example (:inlayHints t :ignore [\"LS312\"] :maxDiagnosticsPerFile 500).
Keys: select, ignore, maxDiagnosticsPerFile, inlayHints, preview, previewSize."
  :type 'plist)

(defcustom labelsense-root-markers '("labelsense.toml" "pyproject.toml" ".git")
  "Files or directories that mark a project root (the nearest one wins)."
  :type '(repeat string))

(defcustom labelsense-major-modes '(jsonl-mode)
  "Major modes whose buffers the labelsense server manages.
Set this before loading labelsense.el.  Add `yaml-mode' (taxonomies) or
`conf-toml-mode' (labelsense.toml) to have one labelsense server handle
those buffers too."
  :type '(repeat symbol))

;;;; jsonl-mode

(defvar labelsense--jsonl-font-lock-keywords
  `(("\\(\"\\(?:[^\"\\\n]\\|\\\\.\\)*\"\\)[[:space:]]*:" 1 font-lock-variable-name-face t)
    (,(regexp-opt '("true" "false" "null") 'symbols) . font-lock-constant-face)
    ("-?\\_<[0-9]+\\(?:\\.[0-9]+\\)?\\(?:[eE][-+]?[0-9]+\\)?\\_>" . font-lock-constant-face))
  "Highlighting for JSON Lines: keys, constants and numbers.
Strings come from the syntax table.")

(defvar labelsense--jsonl-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?- "_" table)
    (modify-syntax-entry ?' "." table)
    (modify-syntax-entry ?{ "(}" table)
    (modify-syntax-entry ?} "){" table)
    (modify-syntax-entry ?\[ "(]" table)
    (modify-syntax-entry ?\] ")[" table)
    table)
  "Syntax table for `jsonl-mode'.")

(unless (fboundp 'jsonl-mode)
  (define-derived-mode jsonl-mode prog-mode "JSONL"
    "Major mode for JSON Lines files: one JSON value per line."
    :syntax-table labelsense--jsonl-syntax-table
    (setq-local font-lock-defaults '(labelsense--jsonl-font-lock-keywords))
    (setq-local comment-start nil)
    (setq-local truncate-lines t)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.\\(?:jsonl\\|ndjson\\)\\'" . jsonl-mode))

;;;; Project root

(defun labelsense-find-root (&optional file)
  "The nearest directory above FILE with one of `labelsense-root-markers'.
nil when there is none."
  (let ((start (or file buffer-file-name default-directory)))
    (when start
      (when-let ((dir (locate-dominating-file
                       start
                       (lambda (dir)
                         (cl-some (lambda (m) (file-exists-p (expand-file-name m dir)))
                                  labelsense-root-markers)))))
        (file-name-as-directory (expand-file-name dir))))))

(defun labelsense--project-find (dir)
  "A project for Eglot in buffers of `labelsense-major-modes'.
A member of `project-find-functions': DIR's nearest labelsense root."
  (when (and (bound-and-true-p eglot-lsp-context)
             (apply #'derived-mode-p labelsense-major-modes))
    (when-let ((root (labelsense-find-root (or buffer-file-name dir))))
      (cons 'labelsense root))))

(cl-defmethod project-root ((project (head labelsense)))
  (cdr project))

(add-hook 'project-find-functions #'labelsense--project-find)

;;;; Eglot

(defun labelsense-server-command (&optional root)
  "The command that starts the server for a project at ROOT (a list), or nil."
  (or labelsense-server-command
      (and (executable-find "labelsense") (list "labelsense" "serve"))
      (let ((venv (and root (expand-file-name ".venv/bin/labelsense" root))))
        (and venv (file-executable-p venv) (list venv "serve")))))

(defun labelsense--initialization-options (_server)
  "`labelsense-settings' as a JSON object."
  (or labelsense-settings (make-hash-table :size 1)))

(defun labelsense-eglot-contact (&optional _interactive)
  "The Eglot contact for labelsense.
The server command and its initializationOptions."
  (let* ((root (or (labelsense-find-root) default-directory))
         (command (labelsense-server-command root)))
    (unless command
      (user-error "labelsense: `labelsense' is not on exec-path nor in %s.venv/bin; install it (pip install labelsense) or set `labelsense-server-command'"
                  root))
    (append command (list :initializationOptions #'labelsense--initialization-options))))

(add-to-list 'eglot-server-programs
             (cons labelsense-major-modes #'labelsense-eglot-contact))

;;;; Label history

(defun labelsense--server ()
  (let ((server (eglot-current-server)))
    (unless server
      (user-error "labelsense: no Eglot server manages this buffer (M-x eglot)"))
    server))

(defun labelsense--uri (file)
  (if (fboundp 'eglot-path-to-uri)
      (funcall #'eglot-path-to-uri file)
    (with-no-warnings (eglot--path-to-uri file))))

(defun labelsense--str (value)
  (cond ((null value) "") ((eq value :json-false) "") ((stringp value) value) (t (format "%s" value))))

(defun labelsense--labels (entries)
  "`cat', `cat, dog' (multi-label), `cat | dog' (several rows), `(none)'."
  (let ((entries (append entries nil)))
    (if (null entries)
        "(none)"
      (mapconcat (lambda (e) (if (null e) "(no label)" (mapconcat #'labelsense--str (append e nil) ", ")))
                 entries " | "))))

(defun labelsense-format-history (changes title)
  "Text showing CHANGES (the result of `labelsense.labelHistory') under TITLE."
  (let ((changes (append changes nil)))
    (concat
     title "\n\n"
     (if (null changes)
         "No commit changed this sample's labels.\n"
       (mapconcat
        (lambda (c)
          (let ((committed (eq (plist-get c :committed) t))
                (kind (labelsense--str (plist-get c :kind)))
                (summary (labelsense--str (plist-get c :summary))))
            (concat
             (if committed
                 (format "%s  %s  %s" (labelsense--str (plist-get c :short))
                         (substring (concat (labelsense--str (plist-get c :date)) "          ") 0 10)
                         (labelsense--str (plist-get c :author)))
               "Not committed yet")
             ": " (labelsense--labels (plist-get c :previous))
             " → " (labelsense--labels (plist-get c :labels))
             (if (member kind '("" "changed")) "" (format " (%s)" kind))
             "\n"
             (if (string-empty-p summary) "" (concat "    " summary "\n")))))
        changes "")))))

;;;###autoload
(defun labelsense-label-history (&optional line)
  "Show the label history of the row at point (or of 0-based LINE)."
  (interactive)
  (let* ((server (labelsense--server))
         (line (or line (1- (line-number-at-pos))))
         (file buffer-file-name)
         (result (jsonrpc-request server :workspace/executeCommand
                                  `(:command "labelsense.labelHistory"
                                    :arguments [,(labelsense--uri file) ,line])))
         (title (format "Label history: %s line %d" (file-name-nondirectory file) (1+ line))))
    (with-current-buffer (get-buffer-create "*labelsense history*")
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (labelsense-format-history result title))
        (goto-char (point-min)))
      (special-mode)
      (display-buffer (current-buffer))
      (current-buffer))))

(provide 'labelsense)
;;; labelsense.el ends here
